/* The string-keyed hash map: put, get, replace, remove, growth, iteration. */
#include <criterion/criterion.h>
#include <stdio.h>

#include "cm_map.h"

Test(map, put_get_replace_remove)
{
    cm_map m;
    cm_map_init(&m);
    int a = 1, b = 2;
    cr_assert_null(cm_map_get(&m, "x"));
    cr_assert_eq(cm_map_put(&m, "x", &a), 0);
    cr_assert_eq(cm_map_get(&m, "x"), &a);
    cm_map_put(&m, "x", &b);
    cr_assert_eq(cm_map_get(&m, "x"), &b);
    cr_assert_eq(m.count, 1);
    cr_assert_eq(cm_map_remove(&m, "x"), &b);
    cr_assert_null(cm_map_get(&m, "x"));
    cr_assert_null(cm_map_remove(&m, "x"));
    cm_map_dispose(&m);
}

Test(map, survives_growth_and_tombstones)
{
    cm_map m;
    cm_map_init(&m);
    char key[32];
    for (long i = 0; i < 5000; i++) {
        snprintf(key, sizeof key, "k%ld", i);
        cm_map_put(&m, key, (void *)(i + 1));
        if (i % 3 == 0)
            cm_map_remove(&m, key);
    }
    size_t pos = 0, seen = 0;
    const char *k;
    void *v;
    while (cm_map_next(&m, &pos, &k, &v)) {
        long i = atol(k + 1);
        cr_assert_eq((long)v, i + 1);
        cr_assert_neq(i % 3, 0);
        seen++;
    }
    cr_assert_eq(seen, m.count);
    cr_assert_eq(seen, 5000 - 1667);
    cm_map_dispose(&m);
}
