//! `tasksession`: the Task Session platform's one binary.

use std::process::ExitCode;

fn main() -> ExitCode {
    gateway::exit_quietly_on_closed_pipe();
    ExitCode::from(gateway::main_with_args(std::env::args_os()))
}
