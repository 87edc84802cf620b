//! Where the bytes of brands' files are kept: one object store for the server (a local
//! directory, or a bucket of any S3-compatible service so that several servers share the
//! files), and for each brand a handle scoped to the brand's own prefix
//! (`brands/<tenant id>/`), made when its store is opened. Code that handles a request
//! gets only its brand's handle inside the [`crate::TenantStore`], so no code path can
//! name another brand's objects.
//!
//! Inside a brand's prefix, content is kept under its SHA-256 (`blobs/ab/abcdef…`), so
//! versions that repeat share bytes; an upload is written to `staging/<id>` first and
//! moved to its address once its last byte is in and counted.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use object_store::ObjectStore;
use object_store::path::Path as ObjectPath;
use object_store::prefix::PrefixStore;

use crate::error::{Error, Result};
use crate::platform::tenant::TenantId;

/// How long [`FileStore::check`] waits for the store to answer.
const CHECK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

/// How large files may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileLimits {
    /// One file at most (`limits.max_upload_bytes`).
    pub max_upload_bytes: u64,
    /// Every file of one brand together, versions and trash included, each distinct
    /// content counted once (`files.brand_quota_bytes`); 0 is no quota.
    pub brand_quota_bytes: u64,
}

impl Default for FileLimits {
    fn default() -> Self {
        FileLimits {
            max_upload_bytes: 100 * 1024 * 1024,
            brand_quota_bytes: 0,
        }
    }
}

/// An S3-compatible bucket (`[files] store = "s3"`).
#[derive(Clone)]
pub struct S3Settings {
    /// The service's address (`https://…`, or `http://…` on a private network); `None`
    /// is Amazon S3 itself.
    pub endpoint: Option<String>,
    /// The region (`us-east-1` where the service does not care).
    pub region: String,
    /// The bucket.
    pub bucket: String,
    /// The access key's id; `None` takes credentials from the environment.
    pub access_key_id: Option<String>,
    /// Its secret.
    pub secret_access_key: Option<String>,
}

impl fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Settings")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("bucket", &self.bucket)
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// The server's object store and the limits of what goes into it.
#[derive(Clone)]
pub struct FileStore {
    root: Arc<dyn ObjectStore>,
    limits: FileLimits,
    described: String,
}

impl fmt::Debug for FileStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileStore")
            .field("store", &self.described)
            .field("limits", &self.limits)
            .finish()
    }
}

impl FileStore {
    /// Files under `dir` on this machine (made when missing).
    pub fn local(dir: &Path, limits: FileLimits) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let local = object_store::local::LocalFileSystem::new_with_prefix(dir)
            .map_err(|e| Error::Objects(format!("cannot use {} for files: {e}", dir.display())))?
            .with_automatic_cleanup(true);
        Ok(FileStore {
            root: Arc::new(local),
            limits,
            described: format!("local directory {}", dir.display()),
        })
    }

    /// Files in an S3-compatible bucket.
    pub fn s3(settings: &S3Settings, limits: FileLimits) -> Result<Self> {
        let mut builder = object_store::aws::AmazonS3Builder::new()
            .with_region(&settings.region)
            .with_bucket_name(&settings.bucket);
        if let Some(endpoint) = &settings.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        if let Some(id) = &settings.access_key_id {
            builder = builder.with_access_key_id(id);
        }
        if let Some(secret) = &settings.secret_access_key {
            builder = builder.with_secret_access_key(secret);
        }
        let s3 = builder
            .build()
            .map_err(|e| Error::Objects(format!("files.s3: {e}")))?;
        Ok(FileStore {
            root: Arc::new(s3),
            limits,
            described: format!(
                "S3 bucket {} at {}",
                settings.bucket,
                settings.endpoint.as_deref().unwrap_or("Amazon S3")
            ),
        })
    }

    /// What the store is, for logs and errors (never a secret).
    pub fn describe(&self) -> &str {
        &self.described
    }

    /// The limits.
    pub fn limits(&self) -> FileLimits {
        self.limits
    }

    /// Checks that the store answers (a listing of one brand prefix), so that a server
    /// with a wrong bucket or key says so at start, not at the first upload.
    pub async fn check(&self) -> Result<()> {
        let brands = ObjectPath::from("brands");
        let listing = self.root.list_with_delimiter(Some(&brands));
        match tokio::time::timeout(CHECK_TIMEOUT, listing).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(Error::Objects(format!(
                "the {} does not answer: {e}",
                self.described
            ))),
            Err(_) => Err(Error::Objects(format!(
                "the {} did not answer within {} seconds",
                self.described,
                CHECK_TIMEOUT.as_secs()
            ))),
        }
    }

    /// Every object kept for `tenant` (paths inside its prefix), for operators' checks and
    /// tests: content under `blobs/`, previews under `previews/`, uploads in progress
    /// under `staging/`.
    pub async fn brand_objects(&self, tenant: &TenantId) -> Result<Vec<String>> {
        use futures_util::TryStreamExt as _;
        let objects = self.for_brand(tenant).objects;
        let listed: Vec<object_store::ObjectMeta> = objects.list(None).try_collect().await?;
        let mut paths: Vec<String> = listed.into_iter().map(|m| m.location.to_string()).collect();
        paths.sort();
        Ok(paths)
    }

    /// Removes every object kept for `tenant` (when its brand is purged); gives how many.
    pub async fn remove_brand(&self, tenant: &TenantId) -> Result<u64> {
        use futures_util::TryStreamExt as _;
        use object_store::ObjectStoreExt as _;
        let objects = self.for_brand(tenant).objects;
        let listed: Vec<object_store::ObjectMeta> = objects.list(None).try_collect().await?;
        let mut removed = 0;
        for meta in listed {
            match objects.delete(&meta.location).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => removed += 1,
                Err(other) => return Err(other.into()),
            }
        }
        Ok(removed)
    }

    /// `tenant`'s own part of the store.
    pub(crate) fn for_brand(&self, tenant: &TenantId) -> BrandFiles {
        let prefix = ObjectPath::from(format!("brands/{}", tenant.as_str()));
        BrandFiles {
            objects: Arc::new(PrefixStore::new(Arc::clone(&self.root), prefix)),
            limits: self.limits,
        }
    }
}

/// One brand's files: an object store that sees only the brand's prefix.
#[derive(Clone)]
pub(crate) struct BrandFiles {
    pub(crate) objects: Arc<dyn ObjectStore>,
    pub(crate) limits: FileLimits,
}

impl fmt::Debug for BrandFiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BrandFiles")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// Where content with this SHA-256 (64 hex digits) is kept in a brand's prefix.
pub(crate) fn blob_path(sha256: &str) -> ObjectPath {
    let fan = sha256.get(..2).unwrap_or("00");
    ObjectPath::from(format!("blobs/{fan}/{sha256}"))
}

/// Where a preview of content with this SHA-256 is kept.
pub(crate) fn preview_path(sha256: &str) -> ObjectPath {
    let fan = sha256.get(..2).unwrap_or("00");
    ObjectPath::from(format!("previews/{fan}/{sha256}.png"))
}

/// Where an upload is written while it arrives.
pub(crate) fn staging_path(id: &str) -> ObjectPath {
    ObjectPath::from(format!("staging/{id}"))
}

/// The prefix of uploads in progress (swept at start of what a crash left).
pub(crate) fn staging_prefix() -> ObjectPath {
    ObjectPath::from("staging")
}

/// The default local directory for files: `{data_dir}/files`.
pub fn default_local_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("files")
}

impl From<object_store::Error> for Error {
    fn from(error: object_store::Error) -> Self {
        match error {
            object_store::Error::NotFound { .. } => {
                Error::Objects("a file's content is missing from the file store".to_owned())
            }
            other => Error::Objects(other.to_string()),
        }
    }
}
