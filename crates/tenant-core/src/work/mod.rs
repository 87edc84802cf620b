//! The work inside a brand's projects: projects and their tasks.

pub mod projects;
pub mod tasks;
