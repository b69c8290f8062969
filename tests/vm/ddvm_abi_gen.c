/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ddvm_abi_gen > ddvm_abi.py: the wire ABI (the headers of include/ddvm/) as a Python module for
 * the Python peers of the tests (tests/vm/ivshmem_peer.py imports it).
 *
 * Compiled against the real headers, so every value is the compiler's: offsets by
 * offsetof, sizes by sizeof, constants by the macros and enums themselves. What it
 * prints is listed in ddvm_abi_names.h, which tests/tests.mk extracts from the same
 * headers: every DDVM_ASSERT_OFFSET (the pinned fields), every sizeof _Static_assert
 * (the structs), every object-like DDVM_ macro and enum constant. A field the headers
 * pin is therefore a field Python knows, and nobody keeps a list by hand. Each pinned
 * offset is checked here a second time against the number the header states.
 */
#include <stddef.h>
#include <stdio.h>

#include "ddvm_abi_includes.h"

/* "struct ddvm_blk_req" -> "blk_req"; "DDVM_STATE_READY" -> "STATE_READY". Applied
 * to the stringified argument (not through another macro, which would expand it). */
#define STRUCT_PREFIX sizeof("struct ddvm_") - 1
#define CONST_PREFIX  sizeof("DDVM_") - 1

static const char prelude[] =
    "\"\"\"ddvm's wire ABI (include/ddvm/*.h) for Python.\n"
    "\n"
    "Generated at build time by tests/vm/ddvm_abi_gen.c, compiled against the headers;\n"
    "do not edit (make rewrites it). Constants drop the DDVM_ prefix (STATE_READY,\n"
    "BLK_OP_READ); each struct drops 'struct ddvm_' (region_hdr, blk_req) and has SIZE,\n"
    "one attribute per pinned field holding its offset, and fields: name -> (offset,\n"
    "size in bytes).\n"
    "\"\"\"\n"
    "\n"
    "\n"
    "class Struct:\n"
    "    def __init__(self, name):\n"
    "        self.name, self.SIZE, self.fields = name, None, {}\n"
    "\n"
    "    def __repr__(self):\n"
    "        return 'Struct(%s, %s bytes)' % (self.name, self.SIZE)\n"
    "\n"
    "\n"
    "STRUCTS = {}\n"
    "\n"
    "\n"
    "def _struct(name):\n"
    "    if name not in STRUCTS:\n"
    "        STRUCTS[name] = globals()[name] = Struct(name)\n"
    "    return STRUCTS[name]\n"
    "\n"
    "\n"
    "def _size(name, size):\n"
    "    _struct(name).SIZE = size\n"
    "\n"
    "\n"
    "def _field(name, field, off, size):\n"
    "    s = _struct(name)\n"
    "    s.fields[field] = (off, size)\n"
    "    setattr(s, field, off)\n"
    "\n"
    "\n";

int main(void)
{
	int bad = 0;

	fputs(prelude, stdout);
#define C(name) printf("%s = %llu\n", #name + CONST_PREFIX, (unsigned long long)(name));
#define S(type) printf("_size(\"%s\", %zu)\n", #type + STRUCT_PREFIX, sizeof(type));
#define F(type, field, off)                                                                        \
	printf("_field(\"%s\", \"%s\", %zu, %zu)\n", #type + STRUCT_PREFIX, #field,                \
	       offsetof(type, field), sizeof(((type *)0)->field));                                 \
	if (offsetof(type, field) != (off)) {                                                      \
		fprintf(stderr, "%s.%s: offset %zu, header says %zu\n", #type, #field,             \
			offsetof(type, field), (size_t)(off));                                     \
		bad = 1;                                                                           \
	}
#include "ddvm_abi_names.h"
	/* The function-like macros, all affine: their values at 0 and 1 make them. */
	printf("\n\ndef VECTOR_QUEUE(q):\n    return %d + q * %d\n", DDVM_VECTOR_QUEUE(0),
	       DDVM_VECTOR_QUEUE(1) - DDVM_VECTOR_QUEUE(0));
	printf("\n\ndef RING_BYTES(entries):\n    return %llu + entries * %llu\n",
	       (unsigned long long)DDVM_RING_BYTES(0),
	       (unsigned long long)(DDVM_RING_BYTES(1) - DDVM_RING_BYTES(0)));
	printf("\n\ndef BLK_TAG(req_id):\n    return req_id & %#x\n", DDVM_BLK_TAG(~0ull));
	return bad;
}
