/* The IOCP backend's entry in the backend table (see iocph__backend in common/internal.h). */
#include "iocp_internal.h"

const iocph__backend iocph__backend_iocp = {
    .id = IOCPH_BACKEND_IOCP,
    .name = "iocp",
    .port_start = iocph__win_port_start,
    .port_post = iocph__win_port_post,
    .port_dequeue = iocph__win_port_dequeue,
    .port_stop = iocph__win_port_stop,
    .port_free = iocph__win_port_free,
    .file_open = iocph__win_file_open,
    .file_length = iocph__win_file_length,
    .pipe_create = iocph__win_pipe_create,
    .handle_attach = iocph__win_handle_attach,
    .handle_close_os = iocph__win_handle_close_os,
    .handle_adopt = iocph__win_handle_adopt,
    .handle_unadopt = iocph__win_handle_unadopt,
    .op_submit = iocph__win_op_submit,
    .op_cancel = iocph__win_op_cancel,
    .handle_cancel_all = iocph__win_handle_cancel_all,
    .try_io = iocph__win_try_io,
    .op_ext_size = sizeof(iocph__win_sock_ext),
    .socket_create = iocph__win_socket_create,
};
