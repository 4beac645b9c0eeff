/* exec+faketime: the adapter's clock reads follow the virtual clock through libfaketime
 * (docs/exec-protocol.md, "Clients that read the wall clock: exec+faketime"). */
#ifndef HR_EXEC_FAKETIME_H
#define HR_EXEC_FAKETIME_H

#include <stddef.h>

typedef struct hr_faketime {
    char dir[64];  /* the run's own folder */
    char file[96]; /* FAKETIME_TIMESTAMP_FILE */
    char **envp;   /* the child's environment: ours, with libfaketime's variables */
} hr_faketime;

/** The libfaketime library: $RENEWLAB_LIBFAKETIME, else Debian's. */
const char *hr_faketime_library(void);
/** A folder and timestamp file for one run, the clock set to @p now (epoch seconds), and
 * the child's environment. 0, or -1 with the reason in @p err. */
int hr_faketime_open(hr_faketime *ft, double now, char *err, size_t n);
/** Set the child's clock to @p now: the file is replaced atomically. 0 or -1. */
int hr_faketime_set(hr_faketime *ft, double now);
/** Remove the folder and free the environment; nothing for a zeroed or closed one. */
void hr_faketime_close(hr_faketime *ft);

#endif
