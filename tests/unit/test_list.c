/* test_list.c - the intrusive list (list.h): order after pushes at both ends, removal of the first,
 * a middle and the last element, and owners recovered through LIST_ENTRY. */
#include "check.h"
#include "dnsroute/list.h"

struct item {
    int value;
    struct list_link link;
};

/* Writes the values from first to last into out (at most cap); returns the count, and checks the
 * backward links agree with the forward ones. */
static int list_values(const struct list *l, int *out, int cap)
{
    int n = 0;
    const struct list_link *prev = NULL;
    for (struct list_link *k = l->first; k != NULL && n < cap; k = k->next) {
        CHECK(k->prev == prev);
        out[n++] = LIST_ENTRY(k, struct item, link)->value;
        prev = k;
    }
    CHECK(l->last == prev);
    return n;
}

static void test_list_order(void)
{
    struct list l;
    struct item it[4] = {{.value = 0}, {.value = 1}, {.value = 2}, {.value = 3}};
    int v[4];
    list_init(&l);
    CHECK(list_is_empty(&l));
    CHECK(LIST_ENTRY(l.first, struct item, link) == NULL);
    list_push_back(&l, &it[1].link);
    list_push_back(&l, &it[2].link);
    list_push_front(&l, &it[0].link);
    list_push_back(&l, &it[3].link);
    CHECK_INT_EQ(list_values(&l, v, 4), 4);
    for (int i = 0; i < 4; i++) {
        CHECK_INT_EQ(v[i], i);
    }
}

static void test_list_remove(void)
{
    struct list l;
    struct item it[4] = {{.value = 0}, {.value = 1}, {.value = 2}, {.value = 3}};
    int v[4];
    list_init(&l);
    for (int i = 0; i < 4; i++) {
        list_push_back(&l, &it[i].link);
    }
    list_remove(&l, &it[1].link); /* middle */
    CHECK(it[1].link.prev == NULL && it[1].link.next == NULL);
    list_remove(&l, &it[0].link); /* first */
    list_remove(&l, &it[3].link); /* last */
    CHECK_INT_EQ(list_values(&l, v, 4), 1);
    CHECK_INT_EQ(v[0], 2);
    list_remove(&l, &it[2].link);
    CHECK(list_is_empty(&l));
    CHECK(l.last == NULL);
}

static const struct check_case cases[] = {
    CHECK_CASE(test_list_order),
    CHECK_CASE(test_list_remove),
    {0},
};

int main(int argc, char **argv)
{
    return check_main(argc, argv, cases);
}
