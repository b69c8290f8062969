// SPDX-License-Identifier: BSD-2-Clause
/* pong (clients/common): the ARP + ICMP echo responder of the examples and the new OS. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "args.h"
#include "pong.h"

static const uint8_t ME_MAC[6] = { 0x52, 0x54, 0x00, 0xdd, 0x00, 0x01 };
static const uint8_t PEER_MAC[6] = { 0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc };

static uint16_t csum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;

	for (; n > 1; p += 2, n -= 2)
		s += (uint32_t)(p[0] << 8 | p[1]);
	if (n)
		s += (uint32_t)p[0] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* An ICMP echo request from the peer (10.0.0.1) to 10.0.0.2 with `plen` payload bytes. */
static size_t echo_request(uint8_t *f, size_t plen)
{
	uint8_t *ip = f + 14, *ic = ip + 20;
	size_t tot = 20 + 8 + plen, i;
	uint16_t c;

	memset(f, 0, 14 + tot);
	memcpy(f, ME_MAC, 6);
	memcpy(f + 6, PEER_MAC, 6);
	f[12] = 0x08;
	ip[0] = 0x45;
	ip[2] = (uint8_t)(tot >> 8);
	ip[3] = (uint8_t)tot;
	ip[8] = 64;
	ip[9] = 1;
	memcpy(ip + 12, (uint8_t[]){ 10, 0, 0, 1 }, 4);
	memcpy(ip + 16, (uint8_t[]){ 10, 0, 0, 2 }, 4);
	c = csum(ip, 20);
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
	ic[0] = 8;
	ic[4] = 0x12;
	ic[6] = 0x00;
	ic[7] = 0x07;
	for (i = 0; i < plen; i++)
		ic[8 + i] = (uint8_t)i;
	c = csum(ic, 8 + plen);
	ic[2] = (uint8_t)(c >> 8);
	ic[3] = (uint8_t)c;
	return 14 + tot;
}

static void test_arp(void **state)
{
	struct pong me = { .ip = { 10, 0, 0, 2 } }, peer = { .ip = { 10, 0, 0, 1 } };
	uint8_t req[64], rep[64], mac[6];
	size_t n;

	(void)state;
	memcpy(me.mac, ME_MAC, 6);
	memcpy(peer.mac, PEER_MAC, 6);
	n = pong_arp_request(&peer, me.ip, req);
	assert_int_equal(n, 60);
	n = pong_handle(&me, req, n, rep, sizeof(rep));
	assert_int_equal(n, 60);
	assert_memory_equal(rep, PEER_MAC, 6);
	assert_true(pong_arp_reply_from(rep, n, me.ip, mac));
	assert_memory_equal(mac, ME_MAC, 6);
	assert_int_equal(me.arp_replies, 1);
	/* not for us, truncated */
	n = pong_arp_request(&peer, (uint8_t[]){ 10, 0, 0, 9 }, req);
	assert_int_equal(pong_handle(&me, req, n, rep, sizeof(rep)), 0);
	n = pong_arp_request(&peer, me.ip, req);
	assert_int_equal(pong_handle(&me, req, 30, rep, sizeof(rep)), 0);
	assert_int_equal(pong_handle(&me, req, n, rep, 20), 0); /* no room for the reply */
}

static void test_icmp(void **state)
{
	struct pong me = { .ip = { 10, 0, 0, 2 } };
	uint8_t req[1600], rep[1600];
	size_t n, r;

	(void)state;
	memcpy(me.mac, ME_MAC, 6);
	n = echo_request(req, 56);
	r = pong_handle(&me, req, n, rep, sizeof(rep));
	assert_int_equal(r, n);
	assert_memory_equal(rep, PEER_MAC, 6);
	assert_memory_equal(rep + 6, ME_MAC, 6);
	assert_int_equal(rep[14 + 20], 0); /* echo reply */
	assert_int_equal(csum(rep + 14, 20), 0);
	assert_int_equal(csum(rep + 34, 8 + 56), 0);
	assert_memory_equal(rep + 14 + 12, me.ip, 4);
	assert_memory_equal(rep + 42, req + 42, 56); /* payload echoed */
	assert_int_equal(me.icmp_replies, 1);
	/* tiny echo: reply padded to 60 */
	n = echo_request(req, 0);
	assert_int_equal(pong_handle(&me, req, n, rep, sizeof(rep)), 60);
	/* corrupt checksum, lying total length, wrong address: ignored */
	n = echo_request(req, 56);
	req[60] ^= 1;
	assert_int_equal(pong_handle(&me, req, n, rep, sizeof(rep)), 0);
	n = echo_request(req, 56);
	req[16] = 0xff;
	assert_int_equal(pong_handle(&me, req, n, rep, sizeof(rep)), 0);
	n = echo_request(req, 56);
	req[33] = 3;
	assert_int_equal(pong_handle(&me, req, n, rep, sizeof(rep)), 0);
	assert_int_equal(pong_handle(&me, req, 10, rep, sizeof(rep)), 0);
}

static void test_parse_ip(void **state)
{
	uint8_t ip[4];

	(void)state;
	assert_int_equal(pong_parse_ip("10.99.0.2", ip), 0);
	assert_memory_equal(ip, ((uint8_t[]){ 10, 99, 0, 2 }), 4);
	assert_int_equal(pong_parse_ip("10.99.0.256", ip), -1);
	assert_int_equal(pong_parse_ip("10.99.0", ip), -1);
	assert_int_equal(pong_parse_ip("a.b.c.d", ip), -1);
}

/* The host tools' numbers (clients/common/args.h): whole, unsigned, bounded. */
static void test_parse_u64(void **state)
{
	uint64_t v = 7;

	(void)state;
	assert_int_equal(ddvm_parse_u64("65536", UINT64_MAX, &v), 0);
	assert_int_equal(v, 65536);
	assert_int_equal(ddvm_parse_u64("0x10", 100, &v), 0);
	assert_int_equal(v, 16);
	assert_int_equal(ddvm_parse_u64("18446744073709551615", UINT64_MAX, &v), 0);
	assert_true(v == UINT64_MAX);
	v = 7;
	assert_int_equal(ddvm_parse_u64("-1", UINT64_MAX, &v), -1);
	assert_int_equal(ddvm_parse_u64("abc", UINT64_MAX, &v), -1);
	assert_int_equal(ddvm_parse_u64("", UINT64_MAX, &v), -1);
	assert_int_equal(ddvm_parse_u64(NULL, UINT64_MAX, &v), -1);
	assert_int_equal(ddvm_parse_u64(" 5", UINT64_MAX, &v), -1);
	assert_int_equal(ddvm_parse_u64("5x", UINT64_MAX, &v), -1);
	assert_int_equal(ddvm_parse_u64("1.5", UINT64_MAX, &v), -1);
	assert_int_equal(ddvm_parse_u64("18446744073709551616", UINT64_MAX, &v), -1);
	assert_int_equal(ddvm_parse_u64("86401", 86400, &v), -1);
	assert_int_equal(v, 7); /* untouched on failure */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_arp),
		cmocka_unit_test(test_icmp),
		cmocka_unit_test(test_parse_ip),
		cmocka_unit_test(test_parse_u64),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
