/* iocph_port_destroy closes every handle the user left open, also while another thread closes
 * some of them at the same moment: a handle that the other thread closed first (BADHANDLE to
 * destroy) must not stop destroy from closing the ones after it. A third thread keeps a brief
 * reference on the handle being closed (iocph_file_get_length), which keeps a closed handle in
 * the port's list a little longer, as any call on another thread may. Checked afterwards: every
 * handle value is stale (closing it again is IOCPH_E_BADHANDLE), none was left open. */
#include "test_util.h"

#define FILES 2000
#define ROUNDS 10

static iocph_handle_t handles[FILES];
static _Atomic int go, done;
static _Atomic uint32_t current; /* the handle the closer is at */

/* Closes the newer half of the handles, newest first: the end of the port's list that destroy
 * starts from, so the two threads meet on the same handles; the older half is destroy's alone. */
static void closer_main(void *arg)
{
    (void)arg;
    while (!atomic_load(&go)) {
    }
    for (uint32_t i = FILES; i-- > FILES / 2;) {
        atomic_store(&current, i);
        int32_t rc = iocph_handle_close(handles[i]);
        CHECK(rc == IOCPH_OK || rc == IOCPH_E_BADHANDLE);
    }
    atomic_store(&done, 1);
}

static void user_main(void *arg)
{
    (void)arg;
    while (!atomic_load(&done)) {
        uint64_t length;
        int32_t rc = iocph_file_get_length(handles[atomic_load(&current)], &length);
        CHECK(rc == IOCPH_OK || rc == IOCPH_E_BADHANDLE);
    }
}

int main(void)
{
    test_watchdog(100);
    char dir[512], path[600];
    test_temp_dir(dir, sizeof dir, "destroy-race");
    test_path(path, sizeof path, dir, "f.bin");
    test_write_file(path, "data", 4);
    for (int round = 0; round < ROUNDS; round++) {
        iocph_port_t port = test_port_pull(1);
        for (uint32_t i = 0; i < FILES; i++)
            CHECK_OK(iocph_file_open(port, path, IOCPH_FILE_READ, i, &handles[i]));
        atomic_store(&go, 0);
        atomic_store(&done, 0);
        atomic_store(&current, FILES - 1);
        test_thread closer, user;
        test_thread_start(&closer, closer_main, NULL);
        test_thread_start(&user, user_main, NULL);
        atomic_store(&go, 1);
        CHECK_OK(iocph_port_destroy(port));
        test_thread_join(&closer);
        test_thread_join(&user);
        for (uint32_t i = 0; i < FILES; i++) {
            int32_t rc = iocph_handle_close(handles[i]);
            if (rc != IOCPH_E_BADHANDLE)
                test_fail(__FILE__, __LINE__,
                          "round %d: handle %u of %u still open after iocph_port_destroy (close "
                          "returned %d)",
                          round, i, FILES, (int)rc);
        }
    }
    test_remove_file(path);
    test_remove_dir(dir);
    printf("ok\n");
    return 0;
}
