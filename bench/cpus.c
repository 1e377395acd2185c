/* cpus.c: the CPUs hl-bench may run on (sched_getaffinity, so taskset and cgroups count): the
 * spinning rows need two, one for a guest that spins and one for the host thread it talks to;
 * on one CPU a spinner only waits for the scheduler to let the other side run. */
#include <sched.h>

#include "bench.h"

unsigned bench_usable_cpus(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set))
        return 1;
    return (unsigned)CPU_COUNT(&set);
}

int bench_two_cpus(int *host, int *guest)
{
    cpu_set_t set;
    int found = 0;
    if (sched_getaffinity(0, sizeof set, &set))
        return -1;
    for (int cpu = 0; cpu < CPU_SETSIZE && found < 2; cpu++)
        if (CPU_ISSET(cpu, &set))
            *(found++ ? guest : host) = cpu;
    return found == 2 ? 0 : -1;
}
