/* A page on virtual time (page_clock.h). */
#include "page_clock.h"

#include <stdio.h>

#include "cm_virtclock.h"

#define SLICE_REAL_LIMIT_MS 10000 /* a slice the browser does not finish: it hangs */
/* While the page's requests are under way its time crawls in slices of NET_SLICE_US (the
 * network takes next to no time, as on the core target: a page load of a hundred slices
 * takes a millisecond of the page's time, so how many it takes in real time barely moves
 * where the page's timers fall), except while the follower's side holds answers (a request
 * may be queued behind one, and the clock must move for them): then in slices of
 * HELD_SLICE_US, as when the page flushes its events at the end (crawl). When nothing has been
 * heard of the requests for NET_QUIET_REAL_MS of real time (the browser or the IdP is short of CPU,
 * or the network is slow), each slice first waits up to NET_PACE_REAL_MS for news. A request with
 * no Network event for NET_STALL_REAL_MS is not waited for (a safety net: no end should go
 * unreported). */
#define NET_SLICE_US 10
#define HELD_SLICE_US 1000
#define NET_QUIET_REAL_MS 30
#define NET_PACE_REAL_MS 20
#define NET_STALL_REAL_MS 5000
#define FOLLOW_ROUNDS 4

void hr_page_clock_init(hr_page_clock *c, hr_browser_tab *tab, struct event_base *base,
                        cm_clock *follower, int (*held)(void *arg), void *held_arg)
{
    *c = (hr_page_clock){.tabs = {tab},
                         .ntabs = 1,
                         .base = base,
                         .follower = follower,
                         .held = held,
                         .held_arg = held_arg};
}

int hr_page_clock_add_tab(hr_page_clock *c, hr_browser_tab *tab)
{
    if (c->ntabs == HR_PAGE_TABS_MAX)
        return -1;
    c->tabs[c->ntabs++] = tab;
    return 0;
}

void hr_page_clock_post(hr_page_clock *c)
{
    c->posts++;
    c->post_ms = cm_wallclock_ms();
}

/* Each tab's own clock into @p ms (-1 for a tab with no document to ask); the furthest,
 * or -1 when none answered. */
static int64_t ask_tabs(hr_page_clock *c, int64_t ms[HR_PAGE_TABS_MAX])
{
    int64_t top = -1;
    for (int i = 0; i < c->ntabs; i++)
        if (hr_browser_tab_now_ms(c->tabs[i], &ms[i]) != 0)
            ms[i] = -1;
        else if (ms[i] > top)
            top = ms[i];
    return top;
}

void hr_page_clock_request(hr_page_clock *c)
{
    int64_t ms[HR_PAGE_TABS_MAX], top = ask_tabs(c, ms);
    int64_t next = cm_virtclock_next_deadline(c->follower);
    if (top > next)
        top = next;
    if (top * 1000 > hr_page_clock_now_us(c) && c->follower->set_ms(c->follower->ctx, top) == 0)
        c->ahead_us = 0;
}

/* Posts of events on their way to the harness: started (DevTools) but not arrived. A post
 * that never arrives stops counting after NET_STALL_REAL_MS without news. */
static int posts_under_way(hr_page_clock *c)
{
    hr_browser *b = c->tabs[0]->browser;
    int64_t now = cm_wallclock_ms();
    if (b->net_untracked_sent != c->posts_sent) {
        c->posts_sent = b->net_untracked_sent;
        c->post_ms = now;
    }
    if (c->posts_sent <= c->posts)
        return 0;
    if (now - c->post_ms < NET_STALL_REAL_MS)
        return 1;
    c->posts = c->posts_sent;
    return 0;
}

/* Requests of the page under way besides the answers held (those wait on the clock, so
 * it must move). */
static int requests_under_way(hr_page_clock *c)
{
    int n = hr_browser_tab_requests(c->tabs[0], NET_STALL_REAL_MS);
    return n > c->held(c->held_arg) || posts_under_way(c);
}

static long network_news(const hr_page_clock *c)
{
    return c->tabs[0]->browser->net_news + c->posts;
}

/* Requests of the page that ended (posts: when they arrived): each may have moved its
 * tab's time on (follow_tabs). */
static long requests_ended(const hr_page_clock *c)
{
    return c->tabs[0]->browser->net_ends + c->posts;
}

typedef struct news_wait {
    hr_page_clock *c;
    long seen;
} news_wait;

static int news_since(void *arg)
{
    news_wait *n = arg;
    return network_news(n->c) != n->seen;
}

/* Before a slice while requests are under way: when the network has been quiet for
 * NET_QUIET_REAL_MS and no answer is held (a request may be queued behind one, and then
 * the clock must move), wait up to NET_PACE_REAL_MS of real time for news, serving the
 * loop meanwhile. */
static void pace(hr_page_clock *c)
{
    long news = network_news(c);
    int64_t now = cm_wallclock_ms();
    if (news != c->news || !c->news_ms) {
        c->news = news;
        c->news_ms = now;
        return;
    }
    if (now - c->news_ms < NET_QUIET_REAL_MS || c->held(c->held_arg) > 0)
        return;
    news_wait n = {c, news};
    cm_loop_wait_real(c->base, news_since, &n, NET_PACE_REAL_MS);
}

/* The tab's budget is spent: the browser counts the expiries of all its sessions. */
static int spent(void *arg)
{
    hr_page_clock *c = arg;
    if (hr_browser_pump(c->tabs[0]->browser) != 0)
        return -1;
    return c->tabs[0]->browser->budgets_expired >= c->expect;
}

int64_t hr_page_clock_now_us(const hr_page_clock *c)
{
    return cm_clock_now(c->follower) * 1000 + c->ahead_us;
}

/* Let @p tab's virtual time run @p us, serving the loop meanwhile. 0, or -1 with @p err. */
static int run_tab(hr_page_clock *c, hr_browser_tab *tab, int64_t us, char *err, size_t errlen)
{
    c->expect = tab->browser->budgets_expired + 1;
    if (hr_browser_tab_budget(tab, us, err, errlen) != 0)
        return -1;
    int rc = cm_loop_wait_real(c->base, spent, c, SLICE_REAL_LIMIT_MS);
    if (rc == 0)
        snprintf(err, errlen,
                 "the browser did not run %.3f ms of the page's virtual time within %d s",
                 (double)us / 1000.0, SLICE_REAL_LIMIT_MS / 1000);
    else if (rc < 0)
        snprintf(err, errlen, "the browser closed its DevTools pipe");
    return rc == 1 ? 0 : -1;
}

/* The tabs' own clocks: Chromium moves a tab's time on by up to 10 ms when one of its
 * requests ends (hr_browser_tab_now_ms), beyond the budget. The page's time in @p page_us
 * becomes the furthest tab's, and a tab behind runs until it is there too (which may end
 * more of its requests: FOLLOW_ROUNDS rounds at most). A tab with no document to ask is
 * left as it is. 1 when a tab was ahead or behind, 0 when all agreed, -1 with @p err. */
static int follow_tabs(hr_page_clock *c, int64_t *page_us, char *err, size_t errlen)
{
    int moved = 0;
    for (int round = 0; round < FOLLOW_ROUNDS; round++) {
        int64_t ms[HR_PAGE_TABS_MAX], top = ask_tabs(c, ms);
        if (top < *page_us / 1000)
            top = *page_us / 1000;
        if (top * 1000 > *page_us)
            *page_us = top * 1000, moved = 1;
        int behind = 0;
        for (int i = 0; i < c->ntabs; i++)
            if (ms[i] >= 0 && ms[i] < top) {
                behind = moved = 1;
                if (run_tab(c, c->tabs[i], (top - ms[i]) * 1000, err, errlen) != 0)
                    return -1;
            }
        if (!behind)
            break;
    }
    return moved;
}

/* After a slice: when a request of the page ended since the last look, or the page has just
 * gone quiet (@p busy: the slice was run as one with requests under way; a post's answer
 * reaches the page some time after the post arrived), the tabs' clocks are asked.
 * 0, or -1 with @p err. */
static int follow(hr_page_clock *c, int busy, int64_t *page_us, char *err, size_t errlen)
{
    long ends = requests_ended(c);
    int due = ends != c->followed_ends || (!busy && c->was_busy);
    c->was_busy = busy;
    if (!due)
        return 0;
    c->followed_ends = ends;
    return follow_tabs(c, page_us, err, errlen) < 0 ? -1 : 0;
}

/* Let each tab's virtual time run @p us, serving their requests meanwhile; then the
 * follower follows to the page's last whole millisecond (answers held until then go out),
 * the tabs' own clocks taken into account (follow). 0, or -1 with @p err. */
static int run_slice(hr_page_clock *c, int64_t us, int busy, char *err, size_t errlen)
{
    if (hr_browser_pump(c->tabs[0]->browser) != 0) {
        snprintf(err, errlen, "the browser closed its DevTools pipe");
        return -1;
    }
    /* one tab after the other, each slice starting with the next (a fixed order, fair to
     * every tab): what two tabs do in one slice comes in an order real time does not pick */
    int first = (int)(c->slices++ % c->ntabs);
    for (int i = 0; i < c->ntabs; i++)
        if (run_tab(c, c->tabs[(first + i) % c->ntabs], us, err, errlen) != 0)
            return -1;
    int64_t page_us = hr_page_clock_now_us(c) + us;
    if (follow(c, busy, &page_us, err, errlen) != 0)
        return -1;
    int64_t until = page_us / 1000;
    c->ahead_us = page_us % 1000;
    if (cm_loop_run(c->base, c->follower, NULL, NULL, until, SLICE_REAL_LIMIT_MS) ==
        CM_LOOP_STUCK) {
        snprintf(err, errlen, "the IdP's clock could not follow the page's");
        return -1;
    }
    c->follower->set_ms(c->follower->ctx, until);
    return 0;
}

int hr_page_clock_run(hr_page_clock *c, int (*cond)(void *arg), void *arg, int64_t limit_ms,
                      char *err, size_t errlen)
{
    int64_t end_us = hr_page_clock_now_us(c) + limit_ms * 1000;
    for (;;) {
        int rc = cond ? cond(arg) : 0;
        int64_t left = end_us - hr_page_clock_now_us(c);
        if (rc != 0 || left <= 0)
            return rc;
        /* news since the last slice began: the page may not have read it yet (a paused
         * page does not), and it may start the next request when it does */
        long news = network_news(c);
        int busy = requests_under_way(c) || news != c->slice_news;
        c->slice_news = news;
        if (busy)
            pace(c);
        int64_t slice = c->crawl                           ? HELD_SLICE_US
                        : busy && c->held(c->held_arg) > 0 ? HELD_SLICE_US
                        : busy                             ? NET_SLICE_US
                                                           : HR_PAGE_SLICE_MS * 1000;
        if (run_slice(c, left < slice ? left : slice, busy, err, errlen) != 0)
            return -1;
    }
}
