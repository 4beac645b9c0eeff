/* A page on virtual time (docs/browser.md, "The time model"): the tab's clock runs in short
 * slices (DevTools virtual time budgets) and a virtual clock, the IdP's, follows it after
 * each slice, to the furthest tab's time (Chromium adds 10 ms for each request of a page); the
 * tabs of a multi-tab run all take each slice before the IdP follows, and one behind catches
 * up. While the page's requests are under way the slices shrink to 10 us, and when the network
 * is quiet in real time they wait for it: a network slow in real time takes none of the page's
 * time. */
#ifndef HR_PAGE_CLOCK_H
#define HR_PAGE_CLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "browser.h"
#include "cm_clock.h"

struct event_base;

/* The resolution of a page's times: a slice while none of its requests is under way. */
#define HR_PAGE_SLICE_MS 10
/* Tabs of one run (a scenario's "tabs"): their clocks run in lockstep. */
#define HR_PAGE_TABS_MAX 4

typedef struct hr_page_clock {
    hr_browser_tab *tabs[HR_PAGE_TABS_MAX]; /* every tab of the run (borrowed), one browser */
    int ntabs;
    long slices;             /* slices run: each starts with the next tab */
    long expect;             /* budget expiries that end the slice under way */
    struct event_base *base; /* served while the page's time runs (the IdP, the app host) */
    cm_clock *follower;      /* a virtual clock that follows the page's (the IdP's) */
    int (*held)(void *arg);  /* answers waiting on the follower's time (the IdP holds them):
                              * the clock must move for them */
    void *held_arg;
    int crawl;          /* the page's time only crawls (1 ms slices) */
    long posts;         /* the page's posts that arrived (hr_page_clock_post) */
    long posts_sent;    /* ... that it started, when last looked */
    int64_t post_ms;    /* when one last started or arrived (real ms) */
    long news;          /* network news when last looked */
    int64_t news_ms;    /* when it last changed (real ms) */
    long slice_news;    /* network news when the last slice began */
    int64_t ahead_us;   /* the page's time beyond the follower's whole millisecond */
    long followed_ends; /* requests ended when the tabs' clocks were last asked */
    int was_busy;       /* the last slice was run with requests under way */
} hr_page_clock;

/* A page's clock on @p tab; @p follower follows it, @p held counts what waits on it. */
void hr_page_clock_init(hr_page_clock *c, hr_browser_tab *tab, struct event_base *base,
                        cm_clock *follower, int (*held)(void *arg), void *held_arg);
/* One more tab of the same browser, from now on given every slice the first one is:
 * all tabs advance in lockstep, each slice of the same length, and the follower after
 * all of them. 0, or -1 when there are HR_PAGE_TABS_MAX already. */
int hr_page_clock_add_tab(hr_page_clock *c, hr_browser_tab *tab);
/* The page's time now, epoch microseconds (the follower's is its whole milliseconds). */
int64_t hr_page_clock_now_us(const hr_page_clock *c);
/* A request of the page reached the follower's side (the IdP), before it reads the
 * follower: the follower moves on to the furthest tab's time, where the request started
 * (a tab's time stands still while its requests are under way). A request that follows the
 * end of another within one slice would else be read up to 10 ms early for each (Chromium
 * moves a tab's time on when a request ends). Never past the follower's next timer, which
 * fires in order when the slice ends. */
void hr_page_clock_request(hr_page_clock *c);
/* One of the page's posts to the harness arrived (they are followed as requests). */
void hr_page_clock_post(hr_page_clock *c);
/* Run the page's time until @p cond(arg) is nonzero (returned: 1, or -1 when the caller
 * stopped it for a failure of its own) or @p limit_ms of its time pass (0). -1 also when
 * the browser did not run a slice or the follower could not follow: the reason in @p err
 * (the browser may be gone: the caller may know better). */
int hr_page_clock_run(hr_page_clock *c, int (*cond)(void *arg), void *arg, int64_t limit_ms,
                      char *err, size_t errlen);

#endif
