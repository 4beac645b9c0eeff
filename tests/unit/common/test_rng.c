/* The seeded RNG is deterministic per seed; unit values stay in [0, 1); OpenSSL draws are
 * fresh, also across fork. */
#include <criterion/criterion.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cm_rng.h"

Test(rng, same_seed_same_stream_other_seed_other_stream)
{
    cm_seeded_rng s1, s2, s3;
    cm_rng a = cm_rng_seeded(&s1, 42), b = cm_rng_seeded(&s2, 42), c = cm_rng_seeded(&s3, 43);
    char ta[64], tb[64], tc[64];
    cr_assert_eq(cm_rng_token(&a, 32, ta, sizeof ta), 0);
    cm_rng_token(&b, 32, tb, sizeof tb);
    cm_rng_token(&c, 32, tc, sizeof tc);
    cr_assert_str_eq(ta, tb);
    cr_assert_str_neq(ta, tc);
    cr_assert_eq(strlen(ta), 43);
}

Test(rng, unit_values_are_in_range_and_spread)
{
    cm_seeded_rng s;
    cm_rng r = cm_rng_seeded(&s, 1);
    int buckets[10] = {0};
    for (int i = 0; i < 10000; i++) {
        double u = cm_rng_unit(&r);
        cr_assert(u >= 0.0 && u < 1.0);
        buckets[(int)(u * 10)]++;
    }
    for (int i = 0; i < 10; i++) /* each decile within ±15 % of 1000 */
        cr_assert(buckets[i] > 850 && buckets[i] < 1150, "bucket %d: %d", i, buckets[i]);
}

Test(rng, token_refuses_small_buffers)
{
    cm_rng r = cm_rng_openssl();
    char small[8];
    cr_assert_eq(cm_rng_token(&r, 32, small, sizeof small), -1);
}

Test(rng, openssl_draws_differ_and_a_forked_child_never_repeats_its_parent)
{
    cm_rng r = cm_rng_openssl();
    uint8_t a[16], b[16], parent[16], child[16];
    cr_assert_eq(r.bytes(r.ctx, a, sizeof a), 0); /* the pool now holds bytes to come */
    cr_assert_eq(r.bytes(r.ctx, b, sizeof b), 0);
    cr_assert(memcmp(a, b, sizeof a) != 0);
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    pid_t pid = fork();
    if (pid == 0) {
        int ok = r.bytes(r.ctx, child, sizeof child) == 0 &&
                 write(fds[1], child, sizeof child) == (ssize_t)sizeof child;
        _exit(ok ? 0 : 1);
    }
    cr_assert(pid > 0);
    cr_assert_eq(r.bytes(r.ctx, parent, sizeof parent), 0);
    cr_assert_eq(read(fds[0], child, sizeof child), (ssize_t)sizeof child);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    cr_assert(memcmp(parent, child, sizeof parent) != 0, "the child repeated its parent's bytes");
    close(fds[0]);
    close(fds[1]);
}
