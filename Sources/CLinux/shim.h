// Linux headers that Swift's Glibc module leaves out: epoll and eventfd (chapter 11).
// Only Sources/Sockets/Platform+Glibc.swift imports this module.
#include <sys/epoll.h>
#include <sys/eventfd.h>
