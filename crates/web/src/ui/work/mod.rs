//! Pages of the work: projects and their boards.

pub(crate) mod board;
pub(crate) mod files;
pub(crate) mod projects;
pub(crate) mod tasks;
