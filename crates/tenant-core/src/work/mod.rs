//! The work inside a brand's projects: projects and their tasks, and the one door into a
//! project, the project grant.
//!
//! Everything inside a project goes through [`enter`] (or [`approach`] when an item of the
//! project must be found before the permission is asked), which in this order:
//! 1. takes the project's lock when the need writes (changes to one project run one at a
//!    time, so none lands on a project archived a moment before),
//! 2. checks that the principal reaches the project (membership, team, company, or
//!    `projects.view_all`): out of reach is "not found" (404),
//! 3. checks the permission the need stands for: "forbidden" (403),
//! 4. refuses changes to an archived project: a conflict (409),
//!
//! and returns an [`InProject`] proof. Every project-scoped function that reads or writes
//! demands one (`&InProject<'_, need::TasksCreate>`), so a module that forgot the checks
//! does not compile. Input is parsed after the grant, so the error order is always
//! 404 → 403 → 409 → 422.

pub mod activity;
pub(crate) mod board;
pub mod files;
pub mod my_work;
pub mod previews;
pub mod projects;
pub mod sharing;
pub mod tasks;

use std::marker::PhantomData;

use crate::access::permissions::{Permission, Requirement};
use crate::access::{self, Actor, Principal};
use crate::error::{Error, Result};
use crate::store::Tx;
use projects::{Project, ProjectStatus};

/// What a grant is for: reading ([`Read`]) or a change needing a permission (the
/// permission markers of [`crate::access::permissions::need`]).
pub trait Need {
    /// The permission asked for, `None` for reading (reaching the project is enough).
    const PERMISSION: Option<Permission>;
    /// Whether the grant takes the project's lock and refuses an archived project.
    const WRITES: bool;
}

/// Reading inside a project: reaching it is enough, archived or not.
#[derive(Debug, Clone, Copy)]
pub struct Read;

impl Need for Read {
    const PERMISSION: Option<Permission> = None;
    const WRITES: bool = false;
}

impl<R: Requirement> Need for R {
    const PERMISSION: Option<Permission> = Some(R::PERMISSION);
    const WRITES: bool = true;
}

/// Proof that `principal` may do what `N` stands for inside `project`; only [`enter`]
/// and [`Approach::permit`] make one.
#[derive(Debug)]
pub struct InProject<'a, N: Need> {
    principal: &'a Principal,
    project: Project,
    need: PhantomData<N>,
}

impl<'a, N: Need> InProject<'a, N> {
    /// Who was let in.
    pub fn principal(&self) -> &'a Principal {
        self.principal
    }

    /// The project, as read under the grant (with its lock held for a write).
    pub fn project(&self) -> &Project {
        &self.project
    }

    /// The project's id.
    pub fn project_id(&self) -> &str {
        &self.project.id
    }

    /// The audit log's name for whoever was let in.
    pub fn actor(&self) -> Actor {
        Actor::from(self.principal)
    }
}

impl<'a, N: Requirement> InProject<'a, N> {
    /// A further permission for the same change (a task edit that also assigns): the
    /// project is already locked, reached and checked for being archived.
    pub fn also<M: Requirement>(&self) -> Result<InProject<'a, M>> {
        permit_in::<M>(self.principal, &self.project)?;
        Ok(InProject {
            principal: self.principal,
            project: self.project.clone(),
            need: PhantomData,
        })
    }
}

/// What a project-scoped read demands: a grant of any need, or an approach (the project
/// reached, the permission not asked yet).
pub trait Inside {
    /// Who is inside.
    fn principal(&self) -> &Principal;
    /// The project they are inside.
    fn project(&self) -> &Project;
}

impl<N: Need> Inside for InProject<'_, N> {
    fn principal(&self) -> &Principal {
        self.principal
    }

    fn project(&self) -> &Project {
        &self.project
    }
}

impl Inside for Approach<'_> {
    fn principal(&self) -> &Principal {
        self.principal
    }

    fn project(&self) -> &Project {
        &self.project
    }
}

/// A project reached and, for a change, locked, whose permission has not been asked yet:
/// the item the action is about is found first (an item out of sight is "not found" before
/// a role is "forbidden"), then [`Approach::permit`] completes the grant.
#[derive(Debug)]
pub struct Approach<'a> {
    principal: &'a Principal,
    project: Project,
}

impl<'a> Approach<'a> {
    /// Steps 3 and 4 of the door: the permission, then an archived project refused.
    /// A change that needs several permissions asks for each in turn.
    pub fn permit<N: Need>(&self) -> Result<InProject<'a, N>> {
        if let Some(permission) = N::PERMISSION {
            access::permit_word(self.principal, permission, self.project.scope())?;
        }
        if N::WRITES {
            refuse_archived(&self.project)?;
        }
        Ok(InProject {
            principal: self.principal,
            project: self.project.clone(),
            need: PhantomData,
        })
    }
}

impl Approach<'_> {
    /// Steps 3 and 4 of the door for a permission known only at run time (a
    /// conversation's, which depends on its thread): the permission, then, for a change,
    /// an archived project refused.
    pub(crate) fn permit_word(&self, permission: Permission, writes: bool) -> Result<()> {
        access::permit_word(self.principal, permission, self.project.scope())?;
        if writes {
            refuse_archived(&self.project)?;
        }
        Ok(())
    }
}

/// The door into a project for `N`: lock (for a change), reach, permission, archived.
pub(crate) async fn enter<'a, N: Need>(
    tx: &mut Tx,
    principal: &'a Principal,
    project_id: &str,
) -> Result<InProject<'a, N>> {
    reach(tx, principal, project_id, N::WRITES)
        .await?
        .permit::<N>()
}

/// The door's first two steps for a change (lock, then reach), when an item must be found
/// before the permission is asked.
pub(crate) async fn approach<'a>(
    tx: &mut Tx,
    principal: &'a Principal,
    project_id: &str,
) -> Result<Approach<'a>> {
    reach(tx, principal, project_id, true).await
}

/// The door's first two steps for a read (reach, no lock), when the permission to ask
/// depends on the item found (a conversation's).
pub(crate) async fn approach_reading<'a>(
    tx: &mut Tx,
    principal: &'a Principal,
    project_id: &str,
) -> Result<Approach<'a>> {
    reach(tx, principal, project_id, false).await
}

/// The door for archiving and unarchiving, the only changes an archived project takes:
/// lock, reach, permission, and no refusal of an archived project.
pub(crate) async fn enter_archived<'a, R: Requirement>(
    tx: &mut Tx,
    principal: &'a Principal,
    project_id: &str,
) -> Result<InProject<'a, R>> {
    let approach = reach(tx, principal, project_id, true).await?;
    permit_in::<R>(principal, &approach.project)?;
    Ok(InProject {
        principal,
        project: approach.project,
        need: PhantomData,
    })
}

async fn reach<'a>(
    tx: &mut Tx,
    principal: &'a Principal,
    project_id: &str,
    lock: bool,
) -> Result<Approach<'a>> {
    if lock {
        tx.serialize(&format!("project:{project_id}")).await?;
    }
    let project = projects::reachable(tx, principal, project_id).await?;
    Ok(Approach { principal, project })
}

fn permit_in<R: Requirement>(principal: &Principal, project: &Project) -> Result<()> {
    access::permit::<R>(principal, project.scope()).map(|_| ())
}

/// A conflict for an archived project: nothing in it changes until it is unarchived.
fn refuse_archived(project: &Project) -> Result<()> {
    if project.status == ProjectStatus::Archived {
        return Err(Error::Conflict(format!(
            "the project '{}' is archived; unarchive it to change it",
            project.name
        )));
    }
    Ok(())
}
