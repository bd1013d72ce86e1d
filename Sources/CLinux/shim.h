// Linux headers that Swift's Glibc module leaves out: epoll and eventfd (chapter 11).
// Only Sources/Sockets/Platform+Glibc.swift imports this module.
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include <sys/socket.h>

// accept4(2) is a GNU extension that Swift's Glibc module hides: declared here, so that an
// accepted socket can be nonblocking and close-on-exec from the start, in one call.
extern int accept4(int fd, struct sockaddr *address, socklen_t *length, int flags);
