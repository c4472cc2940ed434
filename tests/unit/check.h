/* check.h - the in-tree test harness: assertions that print both operands and the location, and a
 * table of named cases. `test_x` runs every case; `test_x case_name` runs only that one.
 *
 *   static void test_foo(void) { CHECK_INT_EQ(1 + 1, 2); }
 *   static const struct check_case cases[] = {CHECK_CASE(test_foo), {0}};
 *   int main(int argc, char **argv) { return check_main(argc, argv, cases); }
 *
 * A case that cannot run here (no namespaces, no data) calls CHECK_SKIP("why"); if any case was
 * skipped (and none failed) the program exits 77, ctest's skip code: it passes only when every
 * case ran. */
#pragma once

#include <inttypes.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct check_case {
    const char *name;
    void (*fn)(void);
};

#define CHECK_CASE(fn)                                                                             \
    {                                                                                              \
#fn, fn                                                                                    \
    }

struct check_state {
    jmp_buf env;
    int failed;
    bool skipped;
};
static struct check_state check_state_;

static inline void check_fail_(const char *file, int line)
{
    (void)file;
    (void)line;
    check_state_.failed = 1;
    longjmp(check_state_.env, 1);
}

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);               \
            check_fail_(__FILE__, __LINE__);                                                       \
        }                                                                                          \
    } while (0)

#define CHECK_INT_EQ(a, b)                                                                         \
    do {                                                                                           \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b);                            \
        if (check_a_ != check_b_) {                                                                \
            fprintf(stderr, "%s:%d: CHECK_INT_EQ(%s, %s) failed: %lld != %lld\n", __FILE__,        \
                    __LINE__, #a, #b, check_a_, check_b_);                                         \
            check_fail_(__FILE__, __LINE__);                                                       \
        }                                                                                          \
    } while (0)

#define CHECK_STR_EQ(a, b)                                                                         \
    do {                                                                                           \
        const char *check_a_ = (a), *check_b_ = (b);                                               \
        if (check_a_ == NULL || check_b_ == NULL || strcmp(check_a_, check_b_) != 0) {             \
            fprintf(stderr, "%s:%d: CHECK_STR_EQ(%s, %s) failed: \"%s\" != \"%s\"\n", __FILE__,    \
                    __LINE__, #a, #b, check_a_ ? check_a_ : "(null)",                              \
                    check_b_ ? check_b_ : "(null)");                                               \
            check_fail_(__FILE__, __LINE__);                                                       \
        }                                                                                          \
    } while (0)

#define CHECK_MEM_EQ(a, b, n)                                                                      \
    do {                                                                                           \
        if (memcmp((a), (b), (n)) != 0) {                                                          \
            fprintf(stderr, "%s:%d: CHECK_MEM_EQ(%s, %s, %s) failed\n", __FILE__, __LINE__, #a,    \
                    #b, #n);                                                                       \
            check_fail_(__FILE__, __LINE__);                                                       \
        }                                                                                          \
    } while (0)

#define CHECK_SKIP(why)                                                                            \
    do {                                                                                           \
        fprintf(stderr, "  skipped: %s\n", (why));                                                 \
        check_state_.skipped = true;                                                               \
        return;                                                                                    \
    } while (0)

static inline int check_main(int argc, char **argv, const struct check_case *cases)
{
    volatile int failed = 0, ran = 0, skipped = 0;
    for (const struct check_case *volatile c = cases; c->name != NULL; c++) {
        if (argc > 1) {
            bool wanted = false;
            for (int i = 1; i < argc; i++) {
                wanted = wanted || strcmp(argv[i], c->name) == 0;
            }
            if (!wanted) {
                continue;
            }
        }
        check_state_.failed = 0;
        check_state_.skipped = false;
        fprintf(stderr, "[ RUN  ] %s\n", c->name);
        if (setjmp(check_state_.env) == 0) {
            c->fn();
        }
        ran++;
        if (check_state_.failed) {
            failed++;
            fprintf(stderr, "[ FAIL ] %s\n", c->name);
        } else if (check_state_.skipped) {
            skipped++;
            fprintf(stderr, "[ SKIP ] %s\n", c->name);
        } else {
            fprintf(stderr, "[  OK  ] %s\n", c->name);
        }
    }
    fprintf(stderr, "%d passed, %d failed, %d skipped\n", ran - failed - skipped, failed, skipped);
    if (ran == 0) {
        fprintf(stderr, "no case matched\n");
        return 1;
    }
    if (failed) {
        return 1;
    }
    /* A program is reported passed only when every case ran (a partial run is a skip). */
    return skipped > 0 ? 77 : 0;
}
