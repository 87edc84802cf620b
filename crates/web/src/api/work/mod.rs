//! The API of the work: projects and their tasks.

pub(crate) mod files;
pub(crate) mod my_work;
pub(crate) mod projects;
pub(crate) mod tasks;
