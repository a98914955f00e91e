# Cross-compiles the Linux library for arm64 (linux-arm64 in the NuGet package) with Debian's
# gcc-aarch64-linux-gnu against the arm64 multiarch liburing (liburing-dev:arm64, after
# `dpkg --add-architecture arm64`). CTest would run the tests under qemu-user (qemu-aarch64-static)
# with the arm64 loader and libraries from /usr/aarch64-linux-gnu, but Debian 12's qemu-user 7.2 hangs
# in pthread_create of any arm64 program on the 6.18 kernels here (a five-line pthread program too),
# and every test starts a port's worker threads: so ./build.sh only runs a single-threaded arm64
# program against the library under qemu ('package contents'), not `ctest --preset linux-arm64`.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(IOCPH_CROSS_TRIPLE aarch64-linux-gnu)
set(CMAKE_C_COMPILER ${IOCPH_CROSS_TRIPLE}-gcc)
set(CMAKE_LIBRARY_ARCHITECTURE ${IOCPH_CROSS_TRIPLE})
# The multiarch libraries (liburing.a) live in /usr/lib/aarch64-linux-gnu, the headers in /usr/include.
set(CMAKE_FIND_ROOT_PATH /usr/${IOCPH_CROSS_TRIPLE} /usr)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
find_program(IOCPH_QEMU_AARCH64 NAMES qemu-aarch64-static qemu-aarch64 NO_CMAKE_FIND_ROOT_PATH)
if(IOCPH_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${IOCPH_QEMU_AARCH64} -L /usr/${IOCPH_CROSS_TRIPLE})
endif()
