/* main.c - argv in, exit status out: loads the configuration and hands it to the daemon. */
#include <stdio.h>

#include "dnsroute/conf.h"
#include "dnsroute/daemon.h"

int main(int argc, char **argv)
{
    return daemon_main(argc, argv);
}
