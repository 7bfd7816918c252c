//! `sources.yaml` against the endpoint files: the list of operations and their
//! official pages is the one the schema transcribes.
//!
//! - every listed operation has an endpoint file, and every endpoint file is listed, once;
//! - an entry's title is its file's `source.title`;
//! - an entry's pages are named in its file's `source.pages` (`official <id>`,
//!   `partner <id>`), and every official or partner page a file names is listed;
//! - a page's URL is the one its id gives.

use std::collections::{BTreeMap, BTreeSet};

use super::{names, Checker};
use crate::schema::load::{LoadedEndpoint, LoadedFile};
use crate::schema::raw::{PageRef, SourcesFile};

/// Where an official brand page lives.
pub const OFFICIAL_URL: &str = "https://pay.weixin.qq.com/doc/brand/";
/// Where a partner (服务商) page lives.
pub const PARTNER_URL: &str = "https://pay.weixin.qq.com/doc/v3/partner/";

/// The two kinds of page a `sources.yaml` entry lists, with their URL prefixes.
const KINDS: [(&str, &str); 2] = [("official", OFFICIAL_URL), ("partner", PARTNER_URL)];

/// `twins`: the partner twins by the brand operation they twin, whose pages an entry's
/// `partner` list may name instead of the brand file.
pub fn check(
    ck: &mut Checker,
    sources: &LoadedFile<SourcesFile>,
    endpoints: &[LoadedEndpoint],
    twins: &BTreeMap<&str, &LoadedEndpoint>,
) {
    let file = sources.file.as_str();
    // `schema/` when the list is `schema/sources.yaml`.
    let dir = file.strip_suffix("sources.yaml").unwrap_or_default();
    let by_id: BTreeMap<String, &LoadedEndpoint> = endpoints
        .iter()
        .map(|ep| (names::operation_id(&ep.content.endpoint.name), ep))
        .collect();
    let mut listed: BTreeSet<&str> = BTreeSet::new();
    // Every `<kind> <id>` page of the list.
    let mut pages: BTreeSet<String> = BTreeSet::new();
    for (i, entry) in sources.content.operations.iter().enumerate() {
        let at = format!("operations[{i}]");
        if !listed.insert(&entry.id) {
            ck.fail(
                file,
                format!("{at}.id"),
                format!("{} is listed twice", entry.id),
            );
            continue;
        }
        let lists: [(&str, &[PageRef]); 2] =
            [(KINDS[0].0, &entry.official), (KINDS[1].0, &entry.partner)];
        for ((kind, refs), (_, base)) in lists.into_iter().zip(KINDS) {
            for (j, page) in refs.iter().enumerate() {
                let url = format!("{base}{}", page.id);
                if page.url != url {
                    ck.fail(
                        file,
                        format!("{at}.{kind}[{j}].url"),
                        format!(
                            "{:?} is not the URL of {kind} page {}: {url}",
                            page.url, page.id
                        ),
                    );
                }
                pages.insert(format!("{kind} {}", page.id));
            }
        }
        let Some(ep) = by_id.get(&entry.id) else {
            ck.fail(
                file,
                format!("{at}.id"),
                format!(
                    "no endpoint file defines operation {} (expected {dir}endpoints/{}.yaml)",
                    entry.id, entry.id
                ),
            );
            continue;
        };
        let expected = format!("{dir}endpoints/{}.yaml", entry.id);
        if ep.file != expected {
            ck.fail(
                file,
                format!("{at}.id"),
                format!(
                    "operation {} is defined in {}, not in {expected}",
                    entry.id, ep.file
                ),
            );
        }
        let source = &ep.content.source;
        if entry.title != source.title {
            ck.fail(
                file,
                format!("{at}.title"),
                format!(
                    "{:?} is not the title in {} ({:?})",
                    entry.title, ep.file, source.title
                ),
            );
        }
        let twin = twins.get(entry.id.as_str());
        for (kind, refs) in lists {
            for (j, page) in refs.iter().enumerate() {
                let name = format!("{kind} {}", page.id);
                let names =
                    |ep: &LoadedEndpoint| ep.content.source.pages.iter().any(|p| p.trim() == name);
                if !names(ep) && !twin.is_some_and(|t| names(t)) {
                    let who = match twin {
                        Some(_) => format!("neither {} nor its partner twin names", ep.file),
                        None => format!("{} does not name", ep.file),
                    };
                    ck.fail(
                        file,
                        format!("{at}.{kind}[{j}]"),
                        format!("{who} {name} in source.pages"),
                    );
                }
            }
        }
    }
    for (id, ep) in &by_id {
        if !listed.contains(id.as_str()) {
            ck.fail(
                file,
                "operations",
                format!("operation {id} ({}) is not listed", ep.file),
            );
        }
    }
    for ep in by_id.values().chain(twins.values()) {
        for (k, page) in ep.content.source.pages.iter().enumerate() {
            let words: Vec<&str> = page.split_whitespace().collect();
            let [kind, id] = words[..] else {
                continue;
            };
            let name = format!("{kind} {id}");
            if KINDS.iter().any(|(k, _)| *k == kind) && !pages.contains(&name) {
                ck.fail(
                    &ep.file,
                    format!("source.pages[{k}]"),
                    format!("{name} is not listed in {file}"),
                );
            }
        }
    }
}
