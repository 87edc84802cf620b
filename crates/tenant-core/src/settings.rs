//! A brand's settings, kept per area as one JSON document in the brand's store. Security:
//! whether every staff member must use two-factor sign-in (a staff member without it is
//! then limited to setting it up).

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::access::{Actor, Permitted};
use crate::audit;
use crate::error::{Error, Result};
use crate::permissions::need;
use crate::registry::TenantStore;
use crate::store::{Tx, now, on_tx};
use crate::totp;

/// The security settings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Security {
    /// Every staff member (admins included) must use two-factor sign-in.
    pub require_totp_for_staff: bool,
}

const SECURITY: &str = "security";

/// The security settings within `tx` (the defaults when never set).
pub(crate) async fn security_in(tx: &mut Tx) -> Result<Security> {
    let stored: Option<String> = on_tx!(tx, |conn| {
        sqlx::query_scalar("select value from brand_settings where area = $1")
            .bind(SECURITY)
            .fetch_optional(conn)
            .await?
    });
    stored
        .map(|text| {
            serde_json::from_str(&text).map_err(|e| {
                Error::Invalid(format!("the stored security settings are unreadable: {e}"))
            })
        })
        .transpose()
        .map(Option::unwrap_or_default)
}

/// The security settings.
pub async fn security(
    store: &TenantStore,
    _permit: &Permitted<'_, need::SettingsManage>,
) -> Result<Security> {
    let mut tx = store.read().await?;
    security_in(&mut tx).await
}

/// Changes the security settings. Requiring two-factor sign-in needs it on for the admin
/// who requires it, so nobody locks themselves into setting it up by surprise.
pub async fn set_security(
    store: &TenantStore,
    permit: &Permitted<'_, need::SettingsManage>,
    security: Security,
) -> Result<Security> {
    let at = now();
    let mut tx = store.write().await?;
    let before = security_in(&mut tx).await?;
    if security.require_totp_for_staff
        && !before.require_totp_for_staff
        && !totp::is_enabled(&mut tx, permit.principal().user_id()).await?
    {
        return Err(Error::Conflict(
            "turn on your own two-factor sign-in first (POST /api/v1/me/totp), then require it for everyone".to_owned(),
        ));
    }
    let value = serde_json::to_string(&security)
        .map_err(|e| Error::Invalid(format!("cannot store the security settings: {e}")))?;
    on_tx!(tx, |conn| {
        sqlx::query(
            "insert into brand_settings (area, value, updated_at) values ($1, $2, $3)
             on conflict (area) do update set value = $2, updated_at = $3",
        )
        .bind(SECURITY)
        .bind(&value)
        .bind(at)
        .execute(conn)
        .await?;
    });
    audit::record(
        &mut tx,
        &Actor::from(permit.principal()),
        "settings.security_update",
        "settings",
        SECURITY,
        Some(json!(before)),
        Some(json!(security)),
    )
    .await?;
    tx.commit().await?;
    Ok(security)
}
