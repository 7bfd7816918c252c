//! Who a request acts as, and which resources it may reach.
//!
//! Every product coupon (and so its stocks, bundles, codes, stores, user
//! coupons and pre-sends) belongs to one brand and was created by one party:
//! the brand itself (brand operations) or a service provider acting for it
//! (partner operations, the brand named by `EndpointInfo::brand_field`).
//!
//! - A brand-signed call reaches every resource of its own brand, whoever
//!   created it: the brand owns its coupons, and the pages' "属于当前品牌且由当前
//!   服务商创建" (268578608) restricts providers only.
//! - A partner call reaches only what that provider created for the brand it
//!   names; the brand must be one that authorised the provider
//!   (`sandbox.json` `authorized_brand_ids`), else 403 NO_AUTH (268579803).
//!
//! Anything else reads as absent: 404 RESOURCE_NOT_EXISTS (268578608).

use serde_json::{json, Value};
use wechatpay_runtime::{AuthScheme, EndpointInfo};

use crate::answers::trouble;
use crate::keys::Identity;
use crate::ratelimit::PartnerQuota;
use crate::replies::Rejection;

/// The caller of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The identity in `Authorization`: a brand_id, the mchid or the sp_mchid.
    pub signer: String,
    /// The brand whose resources the call reaches: the signing brand, or the
    /// brand a provider names; `None` for merchant calls and for the
    /// provider's own operations (notify config, image upload).
    pub brand: Option<String>,
    /// The service provider acting for `brand`; `None` when the brand acts itself.
    pub provider: Option<String>,
}

/// Who a product coupon belongs to and who created it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// The brand it belongs to.
    pub brand_id: String,
    /// The provider that created it; `None`: created by the brand.
    pub provider: Option<String>,
}

impl Caller {
    /// The caller of an authenticated request (`signer` is its Authorization
    /// identity, `request` its body with path and query parameters). A partner
    /// call naming a brand that has not authorised the provider is refused here,
    /// before anything is recorded: 403 NO_AUTH, 268579803.
    pub fn of(
        identity: &Identity,
        info: &EndpointInfo,
        signer: String,
        request: &Value,
    ) -> Result<Caller, Rejection> {
        match info.auth {
            AuthScheme::Merchant => Ok(Caller {
                signer,
                brand: None,
                provider: None,
            }),
            AuthScheme::Brand => Ok(Caller {
                brand: Some(signer.clone()),
                signer,
                provider: None,
            }),
            AuthScheme::Partner => {
                let brand = match info.brand_field {
                    Some(field) => {
                        let location = location_of(info, field);
                        let brand =
                            request.get(field).and_then(Value::as_str).ok_or_else(|| {
                                Rejection::param(
                                    field,
                                    location,
                                    "is required (the brand this call acts for)",
                                )
                            })?;
                        if !identity.authorises(brand) {
                            return Err(not_authorised(info, field, brand, &signer));
                        }
                        Some(brand.to_owned())
                    }
                    None => None,
                };
                Ok(Caller {
                    brand,
                    provider: Some(signer.clone()),
                    signer,
                })
            }
        }
    }

    /// The caller a resource's own owner would be (a claimed pre-send acts for it).
    pub fn owner_of(owner: &Owner) -> Caller {
        Caller {
            signer: owner
                .provider
                .clone()
                .unwrap_or_else(|| owner.brand_id.clone()),
            brand: Some(owner.brand_id.clone()),
            provider: owner.provider.clone(),
        }
    }

    /// Whether this caller may reach a resource of `owner`.
    pub fn reaches(&self, owner: &Owner) -> bool {
        self.brand.as_deref() == Some(owner.brand_id.as_str())
            && (self.provider.is_none() || self.provider == owner.provider)
    }

    /// Who a resource this caller creates belongs to; `None` when the call names no brand.
    pub fn owner(&self) -> Option<Owner> {
        Some(Owner {
            brand_id: self.brand.clone()?,
            provider: self.provider.clone(),
        })
    }

    /// The rate-limit bucket of this caller: the brand the call is for (the brand's own
    /// calls and a provider's calls for it share `--rate-limit`), or for a provider under
    /// [`PartnerQuota::PerProvider`], all its calls together; the signer when no brand.
    pub fn quota_key(&self, quota: PartnerQuota) -> String {
        match (&self.provider, &self.brand, quota) {
            (Some(provider), _, PartnerQuota::PerProvider) => provider.clone(),
            (_, Some(brand), _) => brand.clone(),
            _ => self.signer.clone(),
        }
    }
}

/// The partner family's shared row with `key` (partner.yaml `common_errors`), else the
/// operation's first row with `code`.
fn partner_row(info: &EndpointInfo, key: &str, code: &str) -> Option<Rejection> {
    info.errors
        .iter()
        .find(|row| row.key == Some(key))
        .map(|row| Rejection::new(row.status, row.code, row.description))
        .or_else(|| Rejection::documented(info, code))
}

/// Where the request carries `field` (the brand field is in the body or the query).
fn location_of(info: &EndpointInfo, field: &str) -> &'static str {
    info.request
        .field(field)
        .map_or("body", |f| f.location.as_str())
}

/// A brand that did not authorise the provider: the partner NO_AUTH row (403), 268579803.
pub fn not_authorised(info: &EndpointInfo, field: &str, brand: &str, provider: &str) -> Rejection {
    let row = partner_row(info, "provider_not_authorised", "NO_AUTH")
        .unwrap_or_else(|| Rejection::new(403, "NO_AUTH", ""));
    Rejection {
        message: format!(
            "{field} {brand:?} has not authorised service provider {provider} (服务商没有此接口权限: \
             the brand grants 「商品券」 to the provider in 品牌经营平台)"
        ),
        ..row
    }
    .with_detail(json!({"field": field, "location": location_of(info, field), "brand_id": brand}))
    .with_trouble(trouble::PROVIDER_NOT_AUTHORISED)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity() -> Identity {
        Identity {
            mchid: "1900000001".into(),
            brand_id: "1200000001".into(),
            serial_no: "S".into(),
            public_key_id: "PUB_KEY_ID_0".into(),
            apiv3_key: String::new(),
            sp_mchid: "1600000001".into(),
            authorized_brand_ids: vec!["1200000001".into(), "1200000002".into()],
            unauthorized_brand_ids: vec!["1300000001".into()],
        }
    }

    #[test]
    fn a_provider_reaches_only_what_it_created_for_an_authorising_brand() {
        let id = identity();
        let send = wechatpay_endpoints::find("partner-send-user-product-coupon").unwrap();
        let caller = Caller::of(
            &id,
            send,
            "1600000001".into(),
            &json!({"brand_id": "1200000002"}),
        )
        .unwrap();
        assert_eq!(caller.quota_key(PartnerQuota::PerBrand), "1200000002");
        assert_eq!(caller.quota_key(PartnerQuota::PerProvider), "1600000001");
        let mine = caller.owner().unwrap();
        assert!(caller.reaches(&mine));
        let brands_own = Owner {
            brand_id: "1200000002".into(),
            provider: None,
        };
        assert!(!caller.reaches(&brands_own));
        let brand = Caller::of(
            &id,
            wechatpay_endpoints::find("send-user-product-coupon").unwrap(),
            "1200000002".into(),
            &json!({}),
        )
        .unwrap();
        assert!(brand.reaches(&mine) && brand.reaches(&brands_own));
        let other = Caller {
            brand: Some("1200000001".into()),
            ..brand
        };
        assert!(!other.reaches(&mine));

        let refused = Caller::of(
            &id,
            send,
            "1600000001".into(),
            &json!({"brand_id": "1300000001"}),
        )
        .unwrap_err();
        assert_eq!((refused.status, refused.code.as_str()), (403, "NO_AUTH"));
        assert_eq!(refused.trouble, Some(trouble::PROVIDER_NOT_AUTHORISED));
        assert!(
            refused.message.contains("1300000001"),
            "{}",
            refused.message
        );
    }
}
