/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The VM life cycle (supervisor/vm_state.c): every cell of the transition table against
 * an expectation written out here, by hand, once more; vm__event moves, ignores or
 * refuses (state kept, one log line) as the table says; whole life cycles.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "log.h"
#include "vm.h"
#include "vm_state.h"

#define IGNORED ((enum vm_state) - 1)

/* The legal cells; every other (state, event) pair must be refused. */
static const struct {
	enum vm_state from;
	enum vm_event ev;
	enum vm_state to; /* IGNORED: taken, nothing changes */
} legal[] = {
	{ VM_STOPPED, VM_EV_START, VM_BOOTING },
	{ VM_STOPPED, VM_EV_START_FAILED, VM_FAILED },
	{ VM_STOPPED, VM_EV_RESTART_REQUESTED, VM_FAILED },
	{ VM_STOPPED, VM_EV_STOP_REQUESTED, IGNORED },
	{ VM_STOPPED, VM_EV_STOPPED, IGNORED },

	{ VM_BOOTING, VM_EV_READY, VM_RUNNING },
	{ VM_BOOTING, VM_EV_HEALTH_FAILED, VM_STOPPING },
	{ VM_BOOTING, VM_EV_RESTART_REQUESTED, VM_STOPPING },
	{ VM_BOOTING, VM_EV_STOP_REQUESTED, VM_STOPPING },
	{ VM_BOOTING, VM_EV_QEMU_EXITED, VM_FAILED },
	{ VM_BOOTING, VM_EV_STOPPED, VM_STOPPED },

	{ VM_RUNNING, VM_EV_READY, IGNORED },
	{ VM_RUNNING, VM_EV_HEALTH_FAILED, VM_STOPPING },
	{ VM_RUNNING, VM_EV_RESTART_REQUESTED, VM_STOPPING },
	{ VM_RUNNING, VM_EV_STOP_REQUESTED, VM_STOPPING },
	{ VM_RUNNING, VM_EV_QEMU_EXITED, VM_FAILED },
	{ VM_RUNNING, VM_EV_STOPPED, VM_STOPPED },

	{ VM_FAILED, VM_EV_START, VM_BOOTING },
	{ VM_FAILED, VM_EV_START_FAILED, VM_FAILED },
	{ VM_FAILED, VM_EV_RESTART_REQUESTED, VM_FAILED },
	{ VM_FAILED, VM_EV_STOP_REQUESTED, IGNORED },
	{ VM_FAILED, VM_EV_GIVE_UP, VM_GAVE_UP },
	{ VM_FAILED, VM_EV_STOPPED, VM_STOPPED },

	{ VM_GAVE_UP, VM_EV_RESTART_REQUESTED, VM_FAILED },
	{ VM_GAVE_UP, VM_EV_STOP_REQUESTED, IGNORED },
	{ VM_GAVE_UP, VM_EV_STOPPED, VM_STOPPED },

	{ VM_STOPPING, VM_EV_READY, IGNORED },
	{ VM_STOPPING, VM_EV_HEALTH_FAILED, IGNORED },
	{ VM_STOPPING, VM_EV_RESTART_REQUESTED, VM_STOPPING },
	{ VM_STOPPING, VM_EV_STOP_REQUESTED, VM_STOPPING },
	{ VM_STOPPING, VM_EV_QEMU_EXITED, VM_FAILED },
	{ VM_STOPPING, VM_EV_STOPPED, VM_STOPPED },
};
#define NR_LEGAL (sizeof(legal) / sizeof(legal[0]))

static int find_legal(enum vm_state from, enum vm_event ev)
{
	unsigned i;

	for (i = 0; i < NR_LEGAL; i++)
		if (legal[i].from == from && legal[i].ev == ev)
			return (int)i;
	return -1;
}

/* Every cell of the table, legal and illegal. */
static void test_table(void **state)
{
	unsigned s, e, illegal = 0;

	(void)state;
	for (s = 0; s < VM_NR_STATES; s++)
		for (e = 0; e < VM_NR_EVENTS; e++) {
			enum vm_state to = (enum vm_state)99;
			enum vm_transition_kind k = vm_state_next(s, e, &to);
			int i = find_legal(s, e);

			if (i < 0) {
				if (k != VM_TR_ILLEGAL)
					fail_msg("%s in %s: should be refused", vm_event_name(e),
						 vm_state_name(s));
				assert_int_equal(to, s);
				illegal++;
			} else if (legal[i].to == IGNORED) {
				if (k != VM_TR_IGNORE)
					fail_msg("%s in %s: should be ignored", vm_event_name(e),
						 vm_state_name(s));
				assert_int_equal(to, s);
			} else {
				if (k != VM_TR_MOVE || to != legal[i].to)
					fail_msg("%s in %s: should lead to %s, table says %d/%s",
						 vm_event_name(e), vm_state_name(s),
						 vm_state_name(legal[i].to), k, vm_state_name(to));
			}
		}
	assert_int_equal(illegal + NR_LEGAL, VM_NR_STATES * VM_NR_EVENTS);
	/* out of range: refused, never a read past the table */
	{
		enum vm_state to;

		assert_int_equal(vm_state_next(VM_NR_STATES, VM_EV_START, &to), VM_TR_ILLEGAL);
		assert_int_equal(vm_state_next(VM_RUNNING, VM_NR_EVENTS, &to), VM_TR_ILLEGAL);
		assert_int_equal(to, VM_RUNNING);
		assert_int_equal(vm_state_next(VM_RUNNING, (enum vm_event)(VM_NR_EVENTS + 7), &to),
				 VM_TR_ILLEGAL);
	}
}

/* The names `ddvm status` prints (and tests and scripts read). */
static void test_names(void **state)
{
	(void)state;
	assert_string_equal(vm_state_name(VM_STOPPED), "stopped");
	assert_string_equal(vm_state_name(VM_BOOTING), "booting");
	assert_string_equal(vm_state_name(VM_RUNNING), "running");
	assert_string_equal(vm_state_name(VM_FAILED), "failed");
	assert_string_equal(vm_state_name(VM_GAVE_UP), "gave-up");
	assert_string_equal(vm_state_name(VM_STOPPING), "stopping");
	assert_string_equal(vm_state_name(VM_NR_STATES), "?");
	assert_string_equal(vm_event_name(VM_EV_STOPPED), "stopped");
	assert_string_equal(vm_event_name(VM_NR_EVENTS), "?");
}

static struct cfg_vm cfg_drv = { .name = "drv", .role = CFG_CLIENT_VM };
static char logbuf[65536];

static FILE *log_to_buffer(void)
{
	FILE *f = fmemopen(logbuf, sizeof(logbuf), "w");

	assert_non_null(f);
	memset(logbuf, 0, sizeof(logbuf));
	log_set_file(f);
	return f;
}

static void log_done(FILE *f)
{
	fflush(f);
	log_set_file(NULL);
	fclose(f);
}

static unsigned count(const char *hay, const char *needle)
{
	unsigned n = 0;

	for (hay = strstr(hay, needle); hay; hay = strstr(hay + 1, needle))
		n++;
	return n;
}

/* vm__event on a VM: moves log one line, refusals log one line and keep the state. */
static void test_event(void **state)
{
	struct vm vm = { .cfg = &cfg_drv, .state = VM_STOPPED };
	unsigned s, e;
	FILE *f;

	(void)state;
	for (s = 0; s < VM_NR_STATES; s++)
		for (e = 0; e < VM_NR_EVENTS; e++) {
			int i = find_legal(s, e), ret;
			char want[128];

			vm.state = s;
			f = log_to_buffer();
			ret = vm__event(&vm, e);
			log_done(f);
			if (i < 0) {
				assert_int_equal(ret, -EPERM);
				assert_int_equal(vm.state, s);
				snprintf(want, sizeof(want),
					 "drv: event %s refused in state %s; state kept",
					 vm_event_name(e), vm_state_name(s));
				assert_int_equal(count(logbuf, want), 1);
				assert_int_equal(count(logbuf, "\n"), 1);
				continue;
			}
			assert_int_equal(ret, 0);
			if (legal[i].to == IGNORED || legal[i].to == (enum vm_state)s) {
				assert_int_equal(vm.state, s);
				assert_int_equal(count(logbuf, "\n"), 0); /* debug only */
				continue;
			}
			assert_int_equal(vm.state, legal[i].to);
			snprintf(want, sizeof(want), " ddvm: drv: state %s -> %s (%s)\n",
				 vm_state_name(s), vm_state_name(legal[i].to), vm_event_name(e));
			assert_int_equal(count(logbuf, want), 1);
			assert_int_equal(count(logbuf, "\n"), 1);
		}
}

static void walk(struct vm *vm, const enum vm_event *evs, const enum vm_state *states, unsigned n)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		assert_int_equal(vm__event(vm, evs[i]), 0);
		if (vm->state != states[i])
			fail_msg("step %u (%s): %s, want %s", i, vm_event_name(evs[i]),
				 vm_state_name(vm->state), vm_state_name(states[i]));
	}
}

/* The life cycles health.c, control.c and supervisor.c drive. */
static void test_cycles(void **state)
{
	/* boot, fail, back-off restart, fail until given up, `ddvm restart`, down */
	static const enum vm_event evs[] = {
		VM_EV_START,
		VM_EV_READY,
		VM_EV_HEALTH_FAILED,
		VM_EV_READY,
		VM_EV_QEMU_EXITED,
		VM_EV_START,
		VM_EV_QEMU_EXITED,
		VM_EV_GIVE_UP,
		VM_EV_STOP_REQUESTED,
		VM_EV_RESTART_REQUESTED,
		VM_EV_START_FAILED,
		VM_EV_START,
		VM_EV_RESTART_REQUESTED,
		VM_EV_QEMU_EXITED,
		VM_EV_START,
		VM_EV_READY,
		VM_EV_STOP_REQUESTED,
		VM_EV_STOPPED,
	};
	static const enum vm_state states[] = {
		VM_BOOTING,  VM_RUNNING, VM_STOPPING, VM_STOPPING, VM_FAILED,	VM_BOOTING,
		VM_FAILED,   VM_GAVE_UP, VM_GAVE_UP,  VM_FAILED,   VM_FAILED,	VM_BOOTING,
		VM_STOPPING, VM_FAILED,	 VM_BOOTING,  VM_RUNNING,  VM_STOPPING, VM_STOPPED,
	};
	struct vm vm = { .cfg = &cfg_drv, .state = VM_STOPPED };
	FILE *f;

	(void)state;
	assert_int_equal(sizeof(evs) / sizeof(evs[0]), sizeof(states) / sizeof(states[0]));
	f = log_to_buffer();
	walk(&vm, evs, states, sizeof(evs) / sizeof(evs[0]));
	log_done(f);
	/* the one refusal a bug would cause is loud, and the state stays */
	f = log_to_buffer();
	assert_int_equal(vm__event(&vm, VM_EV_READY), -EPERM);
	log_done(f);
	assert_int_equal(vm.state, VM_STOPPED);
	assert_non_null(strstr(logbuf, "warning: drv: event ready refused in state stopped"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_event),
		cmocka_unit_test(test_cycles),
	};

	unsetenv("DDVM_DEBUG"); /* the log lines counted here are the INFO ones */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
