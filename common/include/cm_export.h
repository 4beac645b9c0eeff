/* CM_EXTERN marks the common functions that renew_core's shared library exports (those its
 * public header documents: the real clock and the RNGs). Everything else in a shared
 * library built from these files is hidden (-fvisibility=hidden), as libuv's UV_EXTERN. */
#ifndef CM_EXPORT_H
#define CM_EXPORT_H

#if defined(__GNUC__)
#define CM_EXTERN __attribute__((visibility("default")))
#else
#define CM_EXTERN
#endif

#endif
