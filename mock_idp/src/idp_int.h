/* mock_idp internals, all parts at once (for the tests: every source file includes only
 * the part headers it uses). Naming: Idp_ for what one file offers the others, idp_ only
 * for the public API of include/mock_idp.h (docs/architecture.md). */
#ifndef IDP_INT_H
#define IDP_INT_H

#include "config.h"
#include "fault.h"
#include "handlers.h"
#include "keys.h"
#include "net.h"
#include "req.h"
#include "server_state.h"
#include "store.h"
#include "trace.h"

#endif
