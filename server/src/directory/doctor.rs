//! What the self-check (`service::doctor`) reads from the directory, without changing anything:
//! the DC's certificate, its clock, the groups, the fine-grained policies the service account
//! can read, and the service account's effective rights on a user.

use std::time::Duration;

use ldap3::controls::RawControl;
use ldap3::{Scope, SearchEntry};

use super::account::{SD_FLAGS_DACL, SD_FLAGS_OID};
use super::error::DirectoryError;
use super::security_descriptor::{self, AUTHENTICATED_USERS, EVERYONE_SID, RESET_PASSWORD, USER_CHANGE_PASSWORD};
use super::Directory;

/// What the service account may do to a user, as the directory computes and stores it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rights {
    /// allowedAttributesEffective, lower case.
    pub attributes: Vec<String>,
    /// sDRightsEffective: 0x4 is the DACL.
    pub sd_rights: u32,
    pub reset_password: bool,
    pub change_password: bool,
}

impl Directory {
    /// The DC certificate's expiry (Unix seconds), after a TLS handshake that verified the chain
    /// and the name as every connection does; `Ok(None)` for StartTLS URLs (checked by the bind)
    /// and when verification is off.
    pub async fn certificate_expiry(&self) -> Result<Option<i64>, String> {
        let Some(tls) = self.tls.clone() else { return Ok(None) };
        let Some(rest) = self.url.to_ascii_lowercase().strip_prefix("ldaps://").map(str::to_string) else {
            return Ok(None);
        };
        let authority = rest.split('/').next().unwrap_or_default().to_string();
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => (h.to_string(), p.parse().unwrap_or(636)),
            _ => (authority.clone(), 636),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
        let name = rustls_pki_types::ServerName::try_from(host.clone()).map_err(|e| e.to_string())?;
        let handshake = async {
            let tcp = tokio::net::TcpStream::connect((host.as_str(), port)).await.map_err(|e| e.to_string())?;
            let stream = tokio_rustls::TlsConnector::from(tls).connect(name, tcp).await.map_err(|e| e.to_string())?;
            let (_, session) = stream.get_ref();
            let der = session.peer_certificates().and_then(|c| c.first()).ok_or("no certificate")?.to_vec();
            let (_, cert) = x509_parser::parse_x509_certificate(&der).map_err(|e| e.to_string())?;
            Ok::<i64, String>(cert.validity().not_after.timestamp())
        };
        match tokio::time::timeout(self.timeout, handshake).await {
            Ok(result) => result.map(Some),
            Err(_) => Err(format!("no TLS answer within {:?}", self.timeout)),
        }
    }

    /// The DC's clock (the RootDSE's currentTime), Unix seconds.
    pub async fn dc_time(&self) -> Result<i64, DirectoryError> {
        let text = self.root_attribute("currentTime").await?.unwrap_or_default();
        chrono::NaiveDateTime::parse_from_str(text.trim_end_matches('Z'), "%Y%m%d%H%M%S%.f")
            .map(|t| t.and_utc().timestamp())
            .map_err(|_| DirectoryError::Unexpected { rc: 0, text: format!("the DC's time {text:?} is unreadable") })
    }

    async fn root_attribute(&self, attr: &str) -> Result<Option<String>, DirectoryError> {
        self.guarded(async {
            let mut ldap = self.service_session().await?;
            let (entries, _) = ldap
                .search("", Scope::Base, "(objectClass=*)", vec![attr])
                .await?
                .success()
                .map_err(|e| DirectoryError::Unavailable(e.to_string()))?;
            Ok(entries
                .into_iter()
                .next()
                .and_then(|e| SearchEntry::construct(e).attrs.remove(attr)?.into_iter().next()))
        })
        .await
    }

    /// The fine-grained policies the service account can read, by name.
    pub async fn readable_psos(&self) -> Result<Vec<String>, DirectoryError> {
        let base = self.base_dn_now().await?;
        self.guarded(async {
            let mut ldap = self.service_session().await?;
            let container = format!("CN=Password Settings Container,CN=System,{base}");
            let (entries, _) = ldap
                .search(
                    &container,
                    Scope::OneLevel,
                    "(objectClass=msDS-PasswordSettings)",
                    vec!["cn", "msDS-MinimumPasswordLength"],
                )
                .await?
                .success()
                .map_err(|e| DirectoryError::Unavailable(e.to_string()))?;
            Ok(entries
                .into_iter()
                .map(SearchEntry::construct)
                // A policy whose settings cannot be read is not read.
                .filter(|e| e.attrs.contains_key("msDS-MinimumPasswordLength"))
                .filter_map(|mut e| e.attrs.remove("cn")?.into_iter().next())
                .collect())
        })
        .await
    }

    /// The service account's effective rights on `user_dn`.
    pub async fn rights_on(&self, user_dn: &str) -> Result<Rights, DirectoryError> {
        let service_dn = self.service_dn().await?;
        self.guarded(async {
            let mut ldap = self.service_session().await?;
            // The account's own SID and its groups' (nested ones included: tokenGroups).
            let (entries, _) = ldap
                .search(&service_dn, Scope::Base, "(objectClass=*)", vec!["objectSid", "tokenGroups"])
                .await?
                .success()
                .map_err(|e| DirectoryError::Unavailable(e.to_string()))?;
            let mut sids: Vec<Vec<u8>> = vec![EVERYONE_SID.to_vec(), AUTHENTICATED_USERS.to_vec()];
            if let Some(entry) = entries.into_iter().next().map(SearchEntry::construct) {
                for attr in ["objectSid", "tokenGroups"] {
                    sids.extend(entry.bin_attrs.get(attr).cloned().unwrap_or_default());
                }
            }
            let sd_flags = RawControl { ctype: SD_FLAGS_OID.into(), crit: false, val: Some(SD_FLAGS_DACL.to_vec()) };
            let (entries, _) = ldap
                .with_controls(sd_flags)
                .search(
                    user_dn,
                    Scope::Base,
                    "(objectClass=*)",
                    vec!["allowedAttributesEffective", "sDRightsEffective", "nTSecurityDescriptor"],
                )
                .await?
                .success()
                .map_err(|e| DirectoryError::Unavailable(e.to_string()))?;
            let Some(entry) = entries.into_iter().next().map(SearchEntry::construct) else {
                return Ok(Rights::default());
            };
            let sd = entry.bin_attrs.get("nTSecurityDescriptor").and_then(|v| v.first()).cloned().unwrap_or_default();
            let grants = |right| security_descriptor::grants_right(&sd, right, &sids).unwrap_or(false);
            Ok(Rights {
                attributes: entry
                    .attrs
                    .get("allowedAttributesEffective")
                    .map(|v| v.iter().map(|a| a.to_ascii_lowercase()).collect())
                    .unwrap_or_default(),
                sd_rights: entry
                    .attrs
                    .get("sDRightsEffective")
                    .and_then(|v| v.first())
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0),
                reset_password: grants(&RESET_PASSWORD),
                change_password: grants(&USER_CHANGE_PASSWORD),
            })
        })
        .await
    }

    /// The base DN (read from the RootDSE when not configured).
    pub async fn base_dn_now(&self) -> Result<String, DirectoryError> {
        self.guarded(async {
            let mut ldap = self.service_session().await?;
            self.base_dn(&mut ldap).await
        })
        .await
    }

    /// How long the doctor waits for one TLS handshake.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }
}
