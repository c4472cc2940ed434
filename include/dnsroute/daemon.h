/* daemon.h - the daemon: owns the event loop, the configuration generation, the module instances
 * (listeners, upstreams, sets, cache), signals and reload. */
#pragma once

/* Runs dnsroute with dnsmasq's command line: loads the configuration (printing dnsmasq-style
 * errors), handles --test and --explain, then serves until SIGTERM. Returns the exit status. */
int daemon_main(int argc, char **argv);
