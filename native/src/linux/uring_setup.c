/*
 * uring_setup.c - creating a ring and probing what the running kernel offers.
 *
 * The headers (liburing 2.3, Linux 6.1 uapi) say nothing about the kernel we run on, so every
 * feature is asked for and dropped if refused: setup flags are tried from the richest set down,
 * opcodes come from io_uring_get_probe_ring, and cancel-by-fd is tried once for real.
 * IOCPH_IO_URING_COMPAT=1 takes every fallback path, so that they are tested too.
 */
#include "uring_internal.h"

#include <errno.h>
#include <string.h>

/* Big enough that the CQ practically never overflows between two drains; with
 * IORING_FEAT_NODROP (required below) an overflow is queued by the kernel, not lost. */
#define IOCPH__URING_MIN_CQ 4096u
#define IOCPH__URING_MAX_SQ 4096u

static uint32_t round_up_pow2(uint32_t v)
{
    uint32_t p = 1;
    while (p < v && p < (1u << 30)) {
        p <<= 1;
    }
    return p;
}

void iocph__uring_ring_sizes(iocph__port *port, uint32_t *sq_out, uint32_t *cq_out)
{
    uint32_t sq = round_up_pow2(port->queue_depth ? port->queue_depth : 256);
    if (sq < 64) {
        sq = 64;
    }
    if (sq > IOCPH__URING_MAX_SQ) {
        sq = IOCPH__URING_MAX_SQ;
    }
    uint32_t cq = round_up_pow2(port->queue_depth * 4u);
    if (cq < IOCPH__URING_MIN_CQ) {
        cq = IOCPH__URING_MIN_CQ;
    }
    *sq_out = sq;
    *cq_out = cq;
}

int iocph__uring_init_ring(struct io_uring *uring, iocph__port *port, const unsigned *attempts,
                           size_t count, struct io_uring_params *params, size_t *used)
{
    uint32_t sq, cq;
    iocph__uring_ring_sizes(port, &sq, &cq);
    int ret = -EINVAL;
    for (size_t i = 0; i < count; i++) {
        memset(params, 0, sizeof *params);
        params->flags = attempts[i] | IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP;
        params->cq_entries = cq;
        ret = io_uring_queue_init_params(sq, uring, params);
        if (ret == 0) {
            *used = i;
            return 0;
        }
        if (ret != -EINVAL) {
            break; /* ENOMEM, EPERM (io_uring_disabled, seccomp), ENOSYS: no point retrying */
        }
    }
    return ret;
}

static int create_ring(iocph__uring_ring *ring, bool compat)
{
    /* Richest first. COOP_TASKRUN (5.19): no IPI per completion, task work runs when this
     * thread enters the kernel; SINGLE_ISSUER (6.0): only this thread submits, which the kernel
     * can exploit; SUBMIT_ALL (5.18): one bad SQE does not stall the rest of a batch.
     * Not DEFER_TASKRUN: with it (6.18), a SEND that waited for room in a full socket buffer
     * could no longer be found by ASYNC_CANCEL (-ENOENT, retried, for good), so a pipe write
     * could not be cancelled; with COOP_TASKRUN the same test passes. */
    static const unsigned attempts[] = {
        IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SUBMIT_ALL,
        IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SUBMIT_ALL,
        0,
    };
    size_t count = sizeof attempts / sizeof attempts[0];
    size_t first = compat ? count - 1 : 0;
    struct io_uring_params params;
    size_t used;
    int ret = iocph__uring_init_ring(&ring->uring, ring->port, attempts + first, count - first,
                                     &params, &used);
    if (ret < 0) {
        return ret;
    }
    if (!(params.features & IORING_FEAT_NODROP)) {
        /* Before 5.5 a full CQ dropped completions: the exactly-once rule can't hold. */
        io_uring_queue_exit(&ring->uring);
        return -EOPNOTSUPP;
    }
    ring->owner->features.setup_flags = attempts[first + used];
    /* A wait with a timeout inside io_uring_enter (5.11); without it liburing would queue a
     * timeout SQE of its own, whose CQE our reaping does not expect. The compat mode takes the
     * fallback: untimed sleeps, wake-ups never held. */
    ring->timed_sleeps = !compat && (params.features & IORING_FEAT_EXT_ARG) != 0;
    return 0;
}

bool iocph__uring_has_required_opcodes(struct io_uring *uring)
{
    static const int needed[] = {IORING_OP_READ,    IORING_OP_WRITE,   IORING_OP_FSYNC,
                                 IORING_OP_RECV,    IORING_OP_SEND,    IORING_OP_ASYNC_CANCEL,
                                 IORING_OP_ACCEPT,  IORING_OP_CONNECT, IORING_OP_SENDMSG,
                                 IORING_OP_RECVMSG, IORING_OP_LINK_TIMEOUT};
    struct io_uring_probe *probe = io_uring_get_probe_ring(uring);
    if (!probe) {
        return false; /* no IORING_REGISTER_PROBE: older than 5.6, which lacks READ/RECV too */
    }
    bool ok = true;
    for (size_t i = 0; i < sizeof needed / sizeof needed[0]; i++) {
        if (!io_uring_opcode_supported(probe, needed[i])) {
            ok = false;
        }
    }
    io_uring_free_probe(probe);
    return ok;
}

/* Cancel-by-fd has no feature bit: ask for it on the idle eventfd (nothing is armed yet).
 * A kernel without it refuses the unknown cancel flags with -EINVAL. */
static bool probe_cancel_fd(iocph__uring_ring *ring)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&ring->uring);
    if (!sqe) {
        return false;
    }
    io_uring_prep_cancel_fd(sqe, ring->wake_fd, IORING_ASYNC_CANCEL_ALL);
    io_uring_sqe_set_data64(sqe, IOCPH__URING_TAG_IGNORE);
    if (io_uring_submit_and_wait(&ring->uring, 1) < 0) {
        return false;
    }
    struct io_uring_cqe *cqe;
    if (io_uring_peek_cqe(&ring->uring, &cqe) != 0) {
        return false;
    }
    int res = cqe->res;
    io_uring_cqe_seen(&ring->uring, cqe);
    return res != -EINVAL;
}

int32_t iocph__uring_ring_setup(iocph__uring_ring *ring)
{
    iocph__uring_port *owner = ring->owner;
    int ret = create_ring(ring, owner->compat);
    if (ret < 0) {
        if (ret == -EMFILE || ret == -ENFILE)
            return IOCPH_E_TOO_MANY_HANDLES; /* a shortage, not a refusal: no fallback */
        return ret == -ENOMEM ? IOCPH_E_NOMEM : IOCPH_E_UNSUPPORTED;
    }
    ring->uring_ready = true;
    if (ring->index == 0) {
        /* Every ring of a port runs on the same kernel: probe once. */
        if (!iocph__uring_has_required_opcodes(&ring->uring)) {
            return IOCPH_E_UNSUPPORTED;
        }
        owner->features.cancel_fd = !owner->compat && probe_cancel_fd(ring);
    }
    /* Registered ring fd (5.18): io_uring_enter skips the fd table lookup. Optional. */
    if (!owner->compat && io_uring_register_ring_fd(&ring->uring) == 1) {
        owner->features.ring_fd_registered = true;
    }
    return IOCPH_OK;
}
