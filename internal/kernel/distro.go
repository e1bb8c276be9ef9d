package kernel

// The kernels operators run: the LTS lines and the distribution kernels
// built on them. Every row cites ../shared/spec/distro-kernels.md (section
// in the comment above each profile); the row names are that file's C1–C20
// and X1–X7 markers mapped onto the catalogue:
//
//	C1 garp-request-override  C8 timer-wheel           C15 delete-unlinks
//	C2 rerandomise-always     C9 same-mac-keeps-state  C16 arp-accept-subnet
//	C3 rerandomise-on-write   C10 replace-dst-confirm  C17 clamp-timestamps
//	C4 mcast-resolicit        C11 garp-reply           C18 arp-evict-nocarrier
//	C5 probe-resets-counter   C12 timestamps-on-change C19 ntf-managed
//	C6 dead-entry-noop        C13 garp-always-override C20 ntf-ext-validated
//	C7 drop-gratuitous-arp    C14 confirm-on-arp
//	X1 evict-on-carrier-down  X2 gc-list  X3 small-retrans  X4 forced-gc-noarp
//	X5 forced-gc-budget       X6 interval-probe-time        X7 ntf-use-update
//
// Rows the spec does not name fall back to the base release ([D]).

// c1to13 are the rows every kernel from 4.12 on shows in its source.
var c1to13 = []string{PGARPRequestOverride, PRerandomise, PRerandomiseOnWrite, PMcastResolicit,
	PProbeResetsCounter, PDeadEntryNoop, PDropGratuitousARP, PTimerWheel, PSameMACKeepsState,
	PReplaceDstConfirm, PGARPReply, PTimestampsOnChange, PGARPAlwaysOverride}

func with(names []string, more ...string) []string {
	return append(append([]string(nil), names...), more...)
}

// mainline4_18 is mainline 4.18, the base of RHEL 8 (§11 for the releases).
func mainline4_18() Profile {
	return line(Profile{Name: "4.18", Release: "4.18", Description: "mainline 4.18 (base of RHEL 8)",
		HZ: 250, UnresQlenBytes: 65536, Source: "distro-kernels §11 (first releases)"}, "4.18",
		unknown(PConfirmOnARP, false, "a 4.19 fix (Fixes: 77d7123342dc) that 4.14.y took (4.14.177 [V-src]); whether 4.18.y stable took it was not checked"))
}

// rhel8 is RHEL 8.8–8.10 (distro-kernels §2): every AlmaLinux tag from
// 4.18.0-240.el8 to 4.18.0-553.66.1.el8_10 was scanned, plus RHEL 8.1.
func rhel8() Profile {
	const src = "[V-src] every RHEL 8 kernel scanned, 8.1 (147.5.1) and 8.3 (240) through 8.10 (553.66.1)"
	return line(Profile{Name: "rhel8", Release: "4.18.0-477…553", Family: "el8", ReadTo: "4.18.0-553.66.1",
		Description: "RHEL 8.8–8.10 (4.18 with back-ports, but not confirm-on-arp)",
		Covers:      "RHEL 8, CentOS Stream 8, AlmaLinux 8, Rocky Linux 8 (4.18.0-*.el8*)",
		HZ:          1000, UnresQlenBytes: 65536, Source: "AlmaLinux RHEL 8 source, every tag (distro-kernels §2)",
		Caveats: []string{
			"RHEL 8.0 (4.18.0-80), 8.2 (193), EUS/E4S z-streams and 8.10 kernels after 553.66.1 were not scanned",
			"the rows rest on AlmaLinux's extraction of the RHEL sources (one blob-level cross-check against CentOS 8.3 matched)",
			"HZ=1000 is recalled from RHEL's build configuration, not read; verify measures HZ",
		}}, "4.18",
		rows(Present, src, with(c1to13, PDeleteUnlinks)...),
		rows(Absent, src+": RHEL 8 keeps the 4.12–4.18 rule, a unicast reply that changes nothing does not refresh `confirmed`", PConfirmOnARP),
		rows(Absent, src, PARPAcceptSubnet, PClampTimestamps, PEvictNoCarrierSysctl, PManaged, PExtValidated,
			PForcedGCBudget, PIntervalProbe, PNTFUse),
		backport(PEvictOnCarrierDown, "4.18.0-240", "", "[V-src] absent in 8.1 (147.5.1), present from 8.3 (240) on and cannot be turned off; 8.2 (193) [U]"),
		backport(PSmallRetrans, "4.18.0-240", "", "[V-src] absent in 8.1, present from 8.3 (240)"),
		backport(PGCList, "4.18.0-477.10.1", "", "[V-src] absent up to 8.7 (425.19.2), present from 8.8 GA (477.10.1)"),
		backport(PForcedGCNoARP, "4.18.0-477.10.1", "", "[V-src] absent up to 8.7, present from 8.8"),
		backport(PDeadEntryNoStamp, "4.18.0-477.10.1", "", "[V-src] the 5.11 dead-entry `new = old` tweak arrives with 8.8 (477.10.1)"),
		unknown(PPMTUNoConfirm, false, "a 5.5 change (stable 5.4.8); RHEL 8 not checked for it"),
	)
}

// rhel9 is RHEL 9.4–9.6 (distro-kernels §3): every AlmaLinux tag from
// 5.14.0-70.13.1.el9_0 to 5.14.0-570.32.1.el9_6 was scanned.
func rhel9() Profile {
	const src = "[V-src] every RHEL 9 kernel scanned, 9.0 (70.13.1) through 9.6 (570.32.1)"
	const later = "; 9.7 (611.*) and later [U]"
	return line(Profile{Name: "rhel9", Release: "5.14.0-427…570", Family: "el9", ReadTo: "5.14.0-570.32.1",
		Description: "RHEL 9.4–9.6 (5.14 with the clamp and NTF_MANAGED back-ported)",
		Covers:      "RHEL 9, CentOS Stream 9, AlmaLinux 9, Rocky Linux 9 (5.14.0-*.el9*)",
		HZ:          1000, UnresQlenBytes: 212992, Source: "AlmaLinux RHEL 9 source, every tag (distro-kernels §3)",
		Caveats: []string{
			"RHEL 9.7 (5.14.0-611.*) and later were not scanned: arp-accept-subnet, arp-evict-nocarrier, ntf-ext-validated and forced-gc-budget are unknown there",
			"the rows rest on AlmaLinux's extraction of the RHEL sources",
			"HZ=1000 is recalled from RHEL's build configuration, not read; verify measures HZ",
		}}, "5.14",
		rows(Present, src, with(c1to13, PDeleteUnlinks, PConfirmOnARP, PEvictOnCarrierDown, PGCList, PSmallRetrans, PForcedGCNoARP)...),
		rows(Absent, src+": `arp_accept` is still a boolean"+later, PARPAcceptSubnet),
		rows(Absent, src+" (carrier-down flush is present and cannot be turned off)"+later, PEvictNoCarrierSysctl),
		rows(Absent, src+later, PExtValidated, PForcedGCBudget),
		rows(Absent, src+"; not in CentOS Stream 9 MR !2472", PIntervalProbe),
		rows(Absent, src+": 9.6's neigh_managed_work still re-arms after DELAY_PROBE_TIME; not in MR !2472", PManagedRearmCap),
		backport(PClampTimestamps, "5.14.0-427.13.1", "", "[V-src] absent 9.0–9.3 (70.x … 362.24.2), present from 9.4 GA (427.13.1)"),
		backport(PManaged, "5.14.0-362.8.1", "", "[V-src] absent 9.0–9.2, present from 9.3 GA (362.8.1); [V-doc] CentOS Stream 9 MR !2472 (BZ 2193175)"),
		backport(PNTFUse, "5.14.0-362.8.1", "", "[V-src] from 9.3 (362.8.1), with ntf-managed"),
	)
}

// lts5_10 is 5.10.y as Debian 11 ships it (distro-kernels §7, §10.2).
func lts5_10() Profile {
	return line(Profile{Name: "5.10", Release: "5.10.y", Description: "LTS 5.10.y with its stable back-ports",
		Covers: "Debian 11 bullseye (5.10.0-*), Amazon Linux 2 kernel-5.10, mainline 5.10.y",
		HZ:     250, UnresQlenBytes: 212992, Source: "Debian bullseye-security 5.10.262-1 changelog; vendor 5.10.198 tree (distro-kernels §7)",
		Caveats: []string{
			"the only 5.10 tree read is a vendor (ArkOS) tree; the rows rest mainly on the Debian changelog and the stable mails",
			"Amazon Linux 2's kernel-5.10 is inferred [I] from 5.10.y; no Amazon tree was read",
		}}, "5.10",
		rows(Present, "[D] base 5.10; [V-src] vendor 5.10.198 tree", with(c1to13, PDeleteUnlinks, PConfirmOnARP)...),
		rows(Absent, "[V-cl] no line in the bullseye 5.10.262-1 changelog; [V-src]", PARPAcceptSubnet, PEvictNoCarrierSysctl, PManaged, PExtValidated, PIntervalProbe),
		backport(PClampTimestamps, "5.10.171", "", "[V-cl] Debian 5.10.178-1; [V-ml] review mail \"[PATCH 5.10 07/19]\" (2023-03-01)"),
		backport(PForcedGCNoARP, "5.10.43", "", "[V-cl] NOARP eviction from 5.10.43 (multicast keys already in 5.10)"),
		backport(PForcedGCBudget, "5.10.209", "", "[V-cl] from 5.10.209"),
		backport(PNTFUse, "5.10.80", "", "[V-cl] \"Enable state migration between NUD_PERMANENT and NTF_USE\" in 5.10.80"),
	)
}

// mainline5_14 is mainline 5.14, the base of RHEL 9.
func mainline5_14() Profile {
	return line(Profile{Name: "5.14", Release: "5.14", Description: "mainline 5.14 (base of RHEL 9)",
		HZ: 250, UnresQlenBytes: 212992, Source: "distro-kernels §11 (first releases)"}, "5.14")
}

// lts5_15 is 5.15.y and Ubuntu 22.04 (distro-kernels §5, §9).
func lts5_15() Profile {
	const src = "[V-src] 5.15.135 and Ubuntu 5.15.0-185 trees"
	return line(Profile{Name: "5.15", Release: "5.15.y", Description: "LTS 5.15.y with its stable back-ports",
		Covers: "Ubuntu 22.04 jammy (5.15.0-*), Ubuntu 20.04 HWE, mainline 5.15.y",
		HZ:     250, UnresQlenBytes: 212992, Source: "Ubuntu 5.15.0-185.195 tree and changelog; 5.15.135 (distro-kernels §5, §9)"},
		"5.15",
		rows(Present, "[D] base 5.15; "+src, with(c1to13, PDeleteUnlinks, PConfirmOnARP, PEvictOnCarrierDown, PGCList, PSmallRetrans, PForcedGCNoARP)...),
		rows(Absent, src+"; 5.16+ features, no changelog line", PARPAcceptSubnet, PEvictNoCarrierSysctl, PManaged, PExtValidated, PIntervalProbe),
		backport(PClampTimestamps, "5.15.97", "5.15.0-72", "[V-cl] \"Jammy update: v5.15.97\"; [V-ml] 5.15.97-rc1 push log and review mail \"[PATCH 5.15 10/22]\"; [V-src]"),
		backport(PForcedGCBudget, "5.15.148", "5.15.0-102", "[V-cl] Ubuntu 5.15.0-102.112 (v5.15.148); absent in 5.15.135 [V-src]"),
		unknown(PNTFUse, true, "stable took it into 5.10.80 and 5.4.y (5.4.286 [V-src]); 5.15.y itself was not checked"),
	)
}

// lts6_1 is 6.1.y, Debian 12 and Amazon Linux 2023 (distro-kernels §8, §10.3).
func lts6_1() Profile {
	return line(Profile{Name: "6.1", Release: "6.1.y", Description: "LTS 6.1.y with its stable back-ports",
		Covers: "Debian 12 bookworm (6.1.0-*), Amazon Linux 2023 (6.1.*.amzn2023), mainline 6.1.y",
		HZ:     250, UnresQlenBytes: 212992, Source: "Debian bookworm 6.1.187-1 changelog; 6.1.141 tree (distro-kernels §8)",
		Caveats: []string{"Amazon Linux 2023's 6.1 is inferred [I] from 6.1.y; no Amazon tree was read"}}, "6.1",
		rows(Present, "[D] base 6.1; [V-src] 6.1.141", with(c1to13, PDeleteUnlinks, PConfirmOnARP, PARPAcceptSubnet, PEvictNoCarrierSysctl, PManaged)...),
		backport(PClampTimestamps, "6.1.15", "", "[V-cl] Debian 6.1.15-1, before bookworm's release; [V-ml] 6.1.15-rc1 push log; [V-src]"),
		backport(PForcedGCBudget, "6.1.74", "", "[V-cl] Debian 6.1.76-1 (upstream 6.1.74)"),
		rows(Absent, "[V-cl] no line in the bookworm 6.1.187-1 changelog; [V-src] 6.1.141", PExtValidated),
	)
}

// lts6_6 is 6.6.y (distro-kernels §9).
func lts6_6() Profile {
	return line(Profile{Name: "6.6", Release: "6.6.y", Description: "LTS 6.6.y with its stable back-ports",
		Covers: "mainline 6.6.y",
		HZ:     250, UnresQlenBytes: 212992, Source: "6.6.87 tree; Debian sid changelog (distro-kernels §9)"}, "6.6",
		rows(Present, "[D] base 6.6; [V-src] 6.6.87", with(c1to13, PDeleteUnlinks, PConfirmOnARP, PARPAcceptSubnet, PClampTimestamps, PEvictNoCarrierSysctl, PManaged)...),
		backport(PForcedGCBudget, "6.6.13", "", "[V-cl] Debian sid changelog (upstream 6.6.13)"),
		rows(Absent, "[V-src] 6.6.87; a 6.17 feature", PExtValidated),
	)
}

// mainline6_8 is 6.8 as Ubuntu 24.04 ships it, read from upstream 6.8.1
// (distro-kernels §6).
func mainline6_8() Profile {
	return line(Profile{Name: "6.8", Release: "6.8", Description: "6.8 (Ubuntu 24.04's kernel, read from upstream 6.8.1)",
		Covers: "Ubuntu 24.04 noble (6.8.0-*), mainline 6.8",
		HZ:     250, UnresQlenBytes: 212992, Source: "upstream 6.8.1 tree (distro-kernels §6)",
		Caveats: []string{
			"Ubuntu noble's own source was not read: Ubuntu-specific changes to the neighbour and ARP code are unknown",
			"Ubuntu's generic kernels use HZ=1000 from 24.04 (recalled, not read); pass --set hz=1000 to model it",
			"a 24.04 HWE kernel based on 6.17 or later would carry ntf-ext-validated",
		}}, "6.8",
		rows(Present, "[D] base 6.8; [V-src] 6.8.1", with(c1to13, PDeleteUnlinks, PConfirmOnARP, PARPAcceptSubnet, PClampTimestamps,
			PEvictNoCarrierSysctl, PManaged, PIntervalProbe, PForcedGCBudget, PEvictOnCarrierDown, PGCList, PSmallRetrans, PForcedGCNoARP)...),
		rows(Absent, "[D] a 6.17 feature; [V-src] absent in 6.8.1", PExtValidated),
	)
}

// lts6_12 is 6.12.y (distro-kernels §9, §3 for RHEL 10).
func lts6_12() Profile {
	return line(Profile{Name: "6.12", Release: "6.12.y", Description: "LTS 6.12.y",
		Covers: "Debian 13 trixie (6.12.*), Amazon Linux 2023 kernel6.12, RHEL 10.0 (6.12.0-55.*.el10), mainline 6.12.y",
		HZ:     250, UnresQlenBytes: 212992, Source: "6.12.19 tree; Debian trixie-security 6.12.118-1 changelog (distro-kernels §9)",
		Caveats: []string{"Amazon Linux 2023's 6.12 is inferred [I] from 6.12.y; RHEL 10.0 (6.12.0-55.x) was read and has the same rows [V-src]"}}, "6.12",
		rows(Present, "[D] base 6.12; [V-src] 6.12.19", with(c1to13, PDeleteUnlinks, PConfirmOnARP, PARPAcceptSubnet, PClampTimestamps,
			PEvictNoCarrierSysctl, PManaged, PIntervalProbe, PForcedGCBudget)...),
		rows(Absent, "[V-src] 6.12.19; [V-cl] no line up to 6.12.118 in the trixie changelog", PExtValidated),
	)
}
