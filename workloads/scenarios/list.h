/*
 * The scenarios, one line each, in the order --list (and so the harness)
 * shows them. SCENARIO(x) names the descriptor scenario_x defined in
 * scenarios/x.c. Included by registry.c only.
 */
SCENARIO(files)
SCENARIO(shared)
SCENARIO(epoll)
SCENARIO(io_uring)
SCENARIO(all)
SCENARIO(threads)
SCENARIO(tree)
