//! smbtorture smb2.multichannel (issue 8), run inside a network namespace of its own: some of
//! its tests dial port 445 whatever `-p` says, and those that "block" a channel drop its
//! packets with iptables (`torture:use_iptables=yes`). Needs root.
mod common;

#[test]
fn multichannel_suite() {
    common::torture::run_group_netns("multichannel");
}

#[test]
#[ignore = "survey tool, run by hand"]
fn survey() {
    common::torture::survey_netns();
}
