#!/usr/bin/env python3
"""Writes the hand-made seed inputs of the fuzz_api harness (tests/fuzz/fuzz_api.c) into
tests/fuzz/corpus/fuzz_api/seed-*: one small program per kind of operation, so that a run
starts from inputs that already reach every part of the API. The rest of the corpus is what
libFuzzer grew from them, minimised with -merge=1 (docs/fuzzing.md).

The encoding is fuzz_api.c's: two bytes configure port 0, then each instruction is an opcode
(its index in op_table) and the argument bytes that instruction reads."""
import os
import struct
import sys

(PORT_CREATE, DEQUEUE, SHUTDOWN, DESTROY, POST, STATS, HOLD, CANCEL, CLOSE, FILE_OPEN,
 FILE_READ, FILE_WRITE, FILE_FLUSH, FILE_SYNC, PIPE_CREATE, PIPE_READ, PIPE_WRITE,
 TCP_LISTEN, UDP_BIND, TCP_CONNECT, TCP_ACCEPT, SOCK_SEND, SOCK_RECEIVE, SOCK_SYNC,
 UDP_SEND_TO, UDP_RECEIVE_FROM, WAIT) = range(27)

PUSH, PULL = [0, 0], [1, 0]
FORGED = [0xF0] + [0x11] * 8  # a handle argument: a random 64-bit value
LEN_SMALL = lambda n: [2, n - 1]  # 1..256 bytes
LEN_PAGE = [3, 0]  # 4096 bytes
LEN_HUGE = [6, 0]  # IOCPH_MAX_IO_LENGTH + 1: refused
OFF0, OFF_EOF, OFF_MAX = [0], [3, 0, 0], [4, 1]
R, W, CREATE, UNBUF = 1, 2, 4, 0x40


def post(value, port=0, key=7):
    return [POST, port, key] + list(struct.pack('<Q', value))


SEEDS = {
    'post-push': PUSH + post(0x100) + post(0x200, key=9) + [WAIT, 2],
    # low bits 1 and 2: the callback reposts and checks shutdown/destroy answer WRONGTHREAD
    'post-actions': PUSH + post(0b11_11_01_11) + [WAIT, 4],
    'post-pull-dequeue': PULL + post(0x40) + post(0x80) + [DEQUEUE, 0, 0x45, DEQUEUE, 0, 0x80],
    'pull-two-ports': PULL + [PORT_CREATE, 0, 0] + post(1, port=1) + post(2, port=0) +
    [DEQUEUE, 1, 3, DESTROY, 0, 1, STATS, 1, 0, 0, 0, 0, 0],
    'queue-depth-1': [0x08, 0] + post(4) * 12 + [WAIT, 1],
    'file-rw': PUSH + [FILE_OPEN, 0, 0, R | W, 5,
                       FILE_READ, 0] + LEN_PAGE + OFF0 + [0,
                       FILE_WRITE, 0] + LEN_SMALL(100) + [1, 50, 0,
                       FILE_FLUSH, 0, 0, FILE_SYNC, 0, 1,
                       FILE_SYNC, 0, 0] + LEN_SMALL(10) + OFF0 + [
                       FILE_READ, 0] + LEN_SMALL(10) + OFF_EOF + [0,
                       FILE_READ, 0] + LEN_SMALL(10) + OFF_MAX + [0, WAIT, 2],
    'file-create-append': PUSH + [FILE_OPEN, 0, 1, W | CREATE | 0x20, 1,
                                  FILE_WRITE, 0] + LEN_SMALL(3) + OFF0 + [0,
                                  FILE_WRITE, 0] + LEN_SMALL(3) + [5, 0, 0, FILE_READ, 0] +
    LEN_SMALL(3) + OFF0 + [0, WAIT, 1],
    'file-unbuffered': PUSH + [FILE_OPEN, 0, 0, R | UNBUF, 1,
                               FILE_READ, 0] + LEN_PAGE + OFF0 + [0,
                               FILE_READ, 0] + LEN_PAGE + OFF0 + [7,
                               FILE_READ, 0] + LEN_SMALL(100) + OFF0 + [0, WAIT, 2],
    'file-bad-open': PUSH + [FILE_OPEN, 0, 5, R, 0, FILE_OPEN, 0, 6, R, 0, FILE_OPEN, 0, 7, R, 0,
                             FILE_OPEN, 0, 2, 0, 0, FILE_OPEN, 0, 3, R, 0],
    'file-close-inflight': PULL + [FILE_OPEN, 0, 0, R, 5] +
    [FILE_READ, 0] + LEN_PAGE + OFF0 + [0] +
    [FILE_READ, 0] + [4] + OFF0 + [0, CLOSE, 0, FILE_READ, 0] + LEN_PAGE + OFF0 + [0, WAIT, 3],
    'pipe-rw': PUSH + [PIPE_CREATE, 0, 4, PIPE_READ, 0] + LEN_SMALL(50) + [0, PIPE_WRITE, 0] +
    LEN_SMALL(20) + [0, PIPE_READ, 0] + LEN_SMALL(50) + [0, WAIT, 2, CANCEL, 0, 0, 2, 0,
                                                         CANCEL, 0, 0xF8],
    'pipe-close-both': PULL + [PIPE_CREATE, 0, 2, PIPE_READ, 0, 1, 0, PIPE_WRITE, 0, 4, 0,
                               CLOSE, 0, PIPE_WRITE, 0, 1, 0, CLOSE, 1, WAIT, 1,
                               PIPE_READ, 0, 1, 0],
    'pipe-huge-null': PUSH + [PIPE_CREATE, 0, 2, PIPE_READ, 0] + LEN_HUGE + [0, PIPE_READ, 0, 1, 6,
                                                                           PIPE_WRITE, 0, 0, 0],
    'tcp-v4': PUSH + [TCP_LISTEN, 0, 0, 0, 3,
                      TCP_CONNECT, 0, 0, 0, 0, 0, 9, 0,
                      TCP_ACCEPT, 0, 4, 0, 0, WAIT, 4,
                      SOCK_SEND, 0, 0, 0] + LEN_SMALL(100) + [
                      SOCK_RECEIVE, 1, 0, 0] + LEN_SMALL(200) + [
                      SOCK_SEND, 0, 1, 0, 3, 5, 0x10, 0xC0,
                      SOCK_RECEIVE, 1, 1, 0, 2, 0x10, 0x10, WAIT, 4,
                      SOCK_SYNC, 0, 0] + LEN_SMALL(10) + [SOCK_SYNC, 1, 1] + LEN_SMALL(10) + [
                      SOCK_SYNC, 0, 2, SOCK_SYNC, 1, 3, SOCK_SYNC, 0, 0x0b,
                      SOCK_SYNC, 0, 4 | (1 << 3), 5, SOCK_SYNC, 0, 5 | (3 << 3), 9,
                      SOCK_RECEIVE, 1, 0, 0] + LEN_SMALL(10) + [WAIT, 4],
    'tcp-v6-timeout': PUSH + [TCP_LISTEN, 0, 8, 0, 3,
                              TCP_ACCEPT, 0, 4, 4, 0,
                              TCP_CONNECT, 0, 0, 0, 0, 0, 9, 0, WAIT, 4,
                              SOCK_RECEIVE, 0, 0, 4] + LEN_SMALL(10) + [WAIT, 7],
    'tcp-refused-bad': PULL + [TCP_CONNECT, 0, 3, 0, 0, 0, 1, 0,
                               TCP_CONNECT, 0, 4, 0, 0, 0, 1, 0,
                               TCP_CONNECT, 0, 5, 0, 7, 0, 0, 1, 0,
                               TCP_LISTEN, 0, 5, 0, 1, TCP_LISTEN, 0, 0x10, 0, 1,
                               WAIT, 4, DEQUEUE, 0, 4],
    'tcp-close-listener': PUSH + [TCP_LISTEN, 0, 0, 0, 3, TCP_ACCEPT, 0, 4, 0, 0,
                                  TCP_ACCEPT, 0, 4, 0, 0, CLOSE, 0, TCP_ACCEPT, 0, 4, 0, 0],
    'udp': PUSH + [UDP_BIND, 0, 0, 3, UDP_BIND, 0, 0, 4,
                   UDP_RECEIVE_FROM, 1] + LEN_SMALL(100) + [0, 0,
                   UDP_SEND_TO, 0] + LEN_SMALL(50) + [0, 1, 0, 0,
                   UDP_SEND_TO, 0] + [4] + [0, 1, 0, 0,
                   UDP_RECEIVE_FROM, 1] + LEN_SMALL(10) + [0, 0x10, WAIT, 4],
    'shutdown-inflight': PUSH + [PIPE_CREATE, 0, 2, PIPE_READ, 0, 2, 50, 0,
                                 SHUTDOWN, 0, 2] + post(8) + [PIPE_READ, 0, 2, 5, 0, DESTROY, 0, 0],
    'pull-shutdown-steps': PULL + [PIPE_CREATE, 0, 2, PIPE_READ, 0, 2, 50, 0,
                                   SHUTDOWN, 0, 0, DEQUEUE, 0, 4, SHUTDOWN, 0, 0, SHUTDOWN, 0, 0],
    'pull-destroy-discard': PULL + [PIPE_CREATE, 0, 2, PIPE_READ, 0, 2, 50, 0] + post(4) +
    [DESTROY, 0, 1],
    'push-destroy-direct': PUSH + [PIPE_CREATE, 0, 2, PIPE_READ, 0, 2, 50, 0] + post(4) +
    [DESTROY, 0, 1, POST, 0, 1] + [0] * 8,
    'forged-stale': PUSH + [PIPE_CREATE, 0, 2, CLOSE, 0, PIPE_READ, 0, 2, 5, 0,
                            FILE_READ] + FORGED + LEN_SMALL(5) + OFF0 + [0,
                            FILE_READ, 0xE1] + LEN_SMALL(5) + OFF0 + [0,
                            PIPE_WRITE, 0xE2, 2, 5, 0, CLOSE, 0xFE, CANCEL] + FORGED + [0xF1] +
    [0x22] * 8 + [DEQUEUE, 0xF0] + [0x33] * 8 + [4, SHUTDOWN, 0xFF, 0],
    'hold-reap': PUSH + [HOLD, 1, PIPE_CREATE, 0, 2, PIPE_WRITE, 1, 2, 5, 0, PIPE_READ, 0, 2, 9, 0] +
    post(0x10) + [HOLD, 0, HOLD, 2] + post(0b1110) + [HOLD, 0, WAIT, 2],
    'stats-queries': PUSH + [STATS, 0, 0, 1, 0, 0, 0, STATS, 0, 0x3F, 0xFF, 0xFF, 0xFF, 0xFF,
                             STATS, 0xFE, 0, 0, 0, 0, 0],
    'bad-options': [0x60, 0x3C] + [PORT_CREATE, 0x7E, 0x38, PORT_CREATE, 0, 0x40, PORT_CREATE, 0, 0xC0],
}


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus', 'fuzz_api')
    os.makedirs(out, exist_ok=True)
    for name, program in SEEDS.items():
        with open(os.path.join(out, f'seed-{name}'), 'wb') as f:
            f.write(bytes(program))
    print(f'{len(SEEDS)} seeds in {out}', file=sys.stderr)


if __name__ == '__main__':
    main()
