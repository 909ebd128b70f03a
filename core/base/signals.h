// SIGINT/SIGTERM as a cancel request: the one signal set-up every long-running entry point
// (the `kanana` CLI, job ranks) uses. The first signal sets the token; long loops check it
// (CancelToken) and stop cleanly. The handler is installed without SA_RESTART, so a read
// blocked on a FIFO or a terminal returns EINTR and its loop sees the token at once instead
// of waiting for data that may never come. A second signal exits at once with
// `second_signal_exit_code` (the user asked twice; cleanup is not worth waiting for).
#pragma once

namespace kanana {

class CancelToken;

void install_cancel_signals(CancelToken* token, int second_signal_exit_code = 130);

// SIGUSR1 as a preemption warning (Slurm's `sbatch --signal=B:USR1@N` before a time limit or
// preemption, forwarded to the ranks by the batch script): sets `token`, so training writes a
// checkpoint and exits for the job to requeue. Installed like the above, without SA_RESTART.
void install_preempt_signal(CancelToken* token);

}  // namespace kanana
