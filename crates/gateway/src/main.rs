//! `tasksession`: the Task Session platform's one binary.

use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(gateway::main_with_args(std::env::args_os()))
}
