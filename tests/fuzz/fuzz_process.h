/*
 * fuzz_process.h - what the API harness checks about the process between inputs (libFuzzer runs
 * every input in one process: a descriptor or thread an input leaves behind would pile up), and
 * the scratch directory its files live in.
 */
#ifndef IOCPH_FUZZ_PROCESS_H
#define IOCPH_FUZZ_PROCESS_H

/* Open descriptors of the process (/proc/self/fd). */
int fz_count_fds(void);
/* Lists the open descriptors on stderr (what a leak left open). */
void fz_print_fds(void);
/* Threads of the process (/proc/self/task). */
int fz_count_threads(void);
/* A private directory under $TMPDIR (or /tmp), made once; removed at exit. */
const char *fz_scratch_dir(void);
/* Removes every file in the scratch directory (the files of the input that just ended). */
void fz_scratch_clear(void);

#endif
