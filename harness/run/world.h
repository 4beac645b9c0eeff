/* One run of one scenario against one target: the IdP in process on the run's event loop
 * and clock, the target opened through its interface (targets/target.h). */
#ifndef HR_WORLD_H
#define HR_WORLD_H

#include "target.h"

/** Set up a run against @p ref; @p real: on the wall clock (a target asked for it).
 * 0, HR_OPEN_SKIP / HR_OPEN_REAL (the target's), or -1 with w->error set. */
int hr_world_init(hr_world *w, json_t *scn, const hr_target_ref *ref, uint64_t seed, int real);
void hr_world_dispose(hr_world *w);
/** Run the scenario's steps. 0, or -1 with w->error set (infrastructure). */
int hr_world_play(hr_world *w);

#endif
