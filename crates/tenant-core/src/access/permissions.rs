//! The permission words of PRODUCT.md ("Roles and permissions") as a closed enum, sets of
//! them, and one marker type per word so that a service can demand, in its signature, proof
//! that the access policy granted exactly that permission (see [`crate::access`]).

use std::fmt;

use crate::error::{Error, Result};

/// Implemented by the marker types in [`need`]: ties a type to one permission.
pub trait Requirement {
    /// The permission the marker stands for.
    const PERMISSION: Permission;
}

macro_rules! permissions {
    ($( $variant:ident $word:literal, )*) => {
        /// One `module.action` word.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Permission {
            $(
                #[doc = concat!("`", $word, "`")]
                $variant,
            )*
        }

        impl Permission {
            /// Every permission, in PRODUCT.md's order.
            pub const ALL: &'static [Permission] = &[$(Permission::$variant,)*];

            /// The word.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Permission::$variant => $word,)*
                }
            }

            /// Reads a word; an unknown word is an error naming it.
            pub fn parse(text: &str) -> Result<Self> {
                match text {
                    $($word => Ok(Permission::$variant),)*
                    other => Err(Error::Invalid(format!("unknown permission '{other}'"))),
                }
            }
        }

        /// One marker type per permission, for [`crate::access::Permitted`].
        pub mod need {
            $(
                #[doc = concat!("Proof type for `", $word, "`.")]
                #[derive(Debug, Clone, Copy)]
                pub struct $variant;

                impl super::Requirement for $variant {
                    const PERMISSION: super::Permission = super::Permission::$variant;
                }
            )*
        }
    };
}

permissions! {
    ProjectsCreate "projects.create",
    ProjectsEdit "projects.edit",
    ProjectsArchive "projects.archive",
    ProjectsViewAll "projects.view_all",
    TasksCreate "tasks.create",
    TasksEdit "tasks.edit",
    TasksAssign "tasks.assign",
    TasksMove "tasks.move",
    TasksDelete "tasks.delete",
    FilesUpload "files.upload",
    FilesDownload "files.download",
    FilesDelete "files.delete",
    ChatTeam "chat.team",
    DiscussionsParticipate "discussions.participate",
    MessagesClients "messages.clients",
    InvoicesView "invoices.view",
    InvoicesCreate "invoices.create",
    InvoicesManage "invoices.manage",
    InvoicesPay "invoices.pay",
    PaymentsSettings "payments.settings",
    UsersManage "users.manage",
    ClientsManage "clients.manage",
    RolesManage "roles.manage",
    TeamsManage "teams.manage",
    SettingsManage "settings.manage",
    AuditView "audit.view",
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Permission {
    fn bit(self) -> u64 {
        1 << (self as u32)
    }

    /// Whether a role given to client users may hold this permission.
    pub fn allowed_for_clients(self) -> bool {
        CLIENT_ALLOWED.contains(self)
    }
}

/// A set of permissions.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PermissionSet(u64);

impl PermissionSet {
    /// No permission.
    pub const EMPTY: PermissionSet = PermissionSet(0);

    /// Every permission.
    pub fn all() -> Self {
        Self::of(Permission::ALL)
    }

    /// The set of `permissions`.
    pub fn of(permissions: &[Permission]) -> Self {
        PermissionSet(permissions.iter().fold(0, |set, p| set | p.bit()))
    }

    /// Whether `permission` is in the set.
    pub fn contains(self, permission: Permission) -> bool {
        self.0 & permission.bit() != 0
    }

    /// Both sets' common permissions.
    pub fn intersection(self, other: PermissionSet) -> Self {
        PermissionSet(self.0 & other.0)
    }

    /// Whether every permission of `self` is in `other`.
    pub fn is_subset(self, other: PermissionSet) -> bool {
        self.0 & !other.0 == 0
    }

    /// The permissions in PRODUCT.md's order.
    pub fn iter(self) -> impl Iterator<Item = Permission> {
        Permission::ALL
            .iter()
            .copied()
            .filter(move |p| self.contains(*p))
    }

    /// Reads a list of words; the first unknown word is an error naming it.
    pub fn parse_words<'a>(words: impl IntoIterator<Item = &'a str>) -> Result<Self> {
        let mut set = PermissionSet::EMPTY;
        for word in words {
            set.0 |= Permission::parse(word)?.bit();
        }
        Ok(set)
    }

    /// The words, space-separated (the stored form).
    pub fn to_words(self) -> String {
        self.iter()
            .map(Permission::as_str)
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The permissions of the set that client roles may not hold.
    pub fn not_for_clients(self) -> impl Iterator<Item = Permission> {
        self.iter().filter(|p| !p.allowed_for_clients())
    }
}

impl fmt::Debug for PermissionSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

/// What a client role may hold at most.
pub const CLIENT_ALLOWED: PermissionSet = PermissionSet(
    (1 << Permission::FilesUpload as u32)
        | (1 << Permission::FilesDownload as u32)
        | (1 << Permission::DiscussionsParticipate as u32)
        | (1 << Permission::MessagesClients as u32)
        | (1 << Permission::InvoicesView as u32)
        | (1 << Permission::InvoicesPay as u32),
);

/// The default permissions of the built-in `staff` role.
pub fn default_staff() -> PermissionSet {
    use Permission::*;
    PermissionSet::of(&[
        TasksCreate,
        TasksEdit,
        TasksAssign,
        TasksMove,
        FilesUpload,
        FilesDownload,
        ChatTeam,
        DiscussionsParticipate,
        MessagesClients,
    ])
}

/// The default permissions of the built-in `client` role (all a client role may hold).
pub fn default_client() -> PermissionSet {
    CLIENT_ALLOWED
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_word_parses_back_to_its_permission() {
        for permission in Permission::ALL {
            assert_eq!(
                Permission::parse(permission.as_str()).ok(),
                Some(*permission)
            );
        }
        assert_eq!(Permission::ALL.len(), 26);
    }

    #[test]
    fn an_unknown_word_is_an_error_naming_it() {
        let error = PermissionSet::parse_words(["tasks.edit", "tasks.fly"]).unwrap_err();
        assert!(error.to_string().contains("tasks.fly"), "{error}");
    }

    #[test]
    fn stored_words_round_trip() {
        let set = default_staff();
        let words = set.to_words();
        assert_eq!(
            PermissionSet::parse_words(words.split_whitespace()).unwrap(),
            set
        );
        assert!(!set.contains(Permission::TasksDelete));
        assert!(set.contains(Permission::MessagesClients));
    }

    #[test]
    fn client_roles_may_hold_only_the_listed_permissions() {
        let allowed: Vec<_> = CLIENT_ALLOWED.iter().map(Permission::as_str).collect();
        assert_eq!(
            allowed,
            [
                "files.upload",
                "files.download",
                "discussions.participate",
                "messages.clients",
                "invoices.view",
                "invoices.pay"
            ]
        );
        assert!(default_client().is_subset(CLIENT_ALLOWED));
        assert!(!Permission::FilesDelete.allowed_for_clients());
    }
}
