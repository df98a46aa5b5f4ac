//! The closed lists operators see: drop reasons, session-end reasons, actions.
//!
//! Each enum is the single source of the label strings used by counters, logs and metrics,
//! so a reason cannot be counted under one name and exported under another.

use crate::proto::{PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP};

macro_rules! labelled_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $label:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u8)]
        pub enum $name { $($(#[$vmeta])* $variant,)+ }

        impl $name {
            /// Every variant, in declaration order (the order of counter slots).
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];
            /// Number of variants: the size of a counter array indexed by this enum.
            pub const COUNT: usize = [$($name::$variant,)+].len();

            /// The stable, user-visible label (log field value, metric label).
            pub const fn label(self) -> &'static str {
                match self { $($name::$variant => $label,)+ }
            }

            /// Parses a label back (CLI filters, tests).
            pub fn from_label(label: &str) -> Option<Self> {
                match label { $($label => Some($name::$variant),)+ _ => None }
            }

            /// Index into a counter array.
            pub const fn index(self) -> usize { self as usize }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(self.label())
            }
        }
    };
}

labelled_enum! {
    /// Why a packet was dropped. Every drop in the engine names exactly one of these.
    DropReason {
        /// Frame shorter than an Ethernet header.
        MalformedEthernet => "malformed-ethernet",
        /// 802.1Q/QinQ tag cut short, or more tags than we parse.
        MalformedVlan => "malformed-vlan",
        /// IPv4 header cut short, version not 4, IHL < 5, or options running past the header.
        MalformedIpv4Header => "malformed-ipv4-header",
        /// IPv4 total length smaller than the header or larger than the frame.
        MalformedIpv4Length => "malformed-ipv4-length",
        /// IPv6 header cut short or payload length larger than the frame.
        MalformedIpv6Header => "malformed-ipv6-header",
        /// IPv6 extension header chain cut short, or longer than we walk.
        MalformedIpv6ExtHeader => "malformed-ipv6-ext-header",
        /// TCP header cut short or data offset out of range.
        MalformedTcp => "malformed-tcp",
        /// UDP header cut short or UDP length inconsistent with the IP payload.
        MalformedUdp => "malformed-udp",
        /// ICMP/ICMPv6 header cut short.
        MalformedIcmp => "malformed-icmp",
        /// ICMP error whose embedded (inner) header is cut short.
        MalformedIcmpInner => "malformed-icmp-inner",
        /// Source address equals destination address (land attack).
        LandAttack => "land",
        /// Source address is broadcast, multicast or unspecified.
        BadSourceAddress => "bad-source-address",
        /// Non-initial fragment whose first fragment was never seen (or already expired).
        FragmentOrphan => "fragment-orphan",
        /// First fragment too small to hold the transport header.
        FragmentTiny => "fragment-tiny",
        /// Fragment overlapping one already seen.
        FragmentOverlap => "fragment-overlap",
        /// Fragment table full.
        FragmentTableFull => "fragment-table-full",
        /// TCP packet with no session that is not a SYN (`tcp_reject_non_syn`).
        NonSyn => "non-syn",
        /// Session table full: no new session could be created.
        TableFull => "table-full",
        /// Only one direction of a TCP handshake seen (`asymmetric_path: drop`).
        Asymmetric => "asymmetric",
        /// TCP segment refused by the tracker (invalid flags, RST out of window, ...).
        TcpInvalid => "tcp-invalid",
        /// TCP segment past the flow's out-of-order limit (`out_of_order_limit`); the session
        /// ends `resources-unavailable`.
        OutOfOrderLimit => "tcp-out-of-order-limit",
        /// ICMP error that refers to no session.
        IcmpErrorNoSession => "icmp-error-no-session",
        /// Refused by the security policy (deny, drop, reset-*, drop-icmp), or by a discard entry.
        Policy => "policy",
        /// A packet for another worker could not be handed off (ring full).
        HandoffFull => "handoff-full",
        /// Ingress port has no virtual-wire peer.
        NoEgress => "no-egress",
        /// Transmit queue full: the NIC did not take the packet.
        TxFull => "tx-full",
        /// SYN refused by zone protection (random early drop or maximum rate).
        SynFlood => "syn-flood",
        /// First UDP datagram of a flow refused by zone protection.
        UdpFlood => "udp-flood",
        /// ICMP echo opening a session refused by zone protection.
        IcmpFlood => "icmp-flood",
        /// ICMPv6 echo opening a session refused by zone protection.
        Icmpv6Flood => "icmpv6-flood",
        /// First packet of another IP protocol's flow refused by zone protection.
        OtherIpFlood => "other-ip-flood",
    }
}

labelled_enum! {
    /// The floods zone protection meters (PAN-OS Zone Protection > Flood Protection): which
    /// session-opening packets count, per ingress zone.
    Flood {
        /// TCP SYNs that open a session.
        Syn => "syn",
        /// UDP datagrams that open a session.
        Udp => "udp",
        /// ICMP echo requests and replies that open a session.
        Icmp => "icmp",
        /// ICMPv6 echo requests and replies that open a session.
        Icmpv6 => "icmpv6",
        /// First packets of flows of any other IP protocol.
        OtherIp => "other-ip",
    }
}

impl Flood {
    /// The drop reason of a packet this flood's protection refuses.
    pub const fn drop_reason(self) -> DropReason {
        match self {
            Flood::Syn => DropReason::SynFlood,
            Flood::Udp => DropReason::UdpFlood,
            Flood::Icmp => DropReason::IcmpFlood,
            Flood::Icmpv6 => DropReason::Icmpv6Flood,
            Flood::OtherIp => DropReason::OtherIpFlood,
        }
    }

    /// The flood a session-opening packet of IP protocol `proto` belongs to.
    #[inline(always)]
    pub const fn of_proto(proto: u8) -> Flood {
        match proto {
            PROTO_TCP => Flood::Syn,
            PROTO_UDP => Flood::Udp,
            PROTO_ICMP => Flood::Icmp,
            PROTO_ICMPV6 => Flood::Icmpv6,
            _ => Flood::OtherIp,
        }
    }
}

/// A flood serializes as its label (`show zone-protection`, the exporter's report).
impl serde::Serialize for Flood {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.label())
    }
}

labelled_enum! {
    /// Why a session ended (PAN-OS session-end reasons).
    EndReason {
        AgedOut => "aged-out",
        TcpFin => "tcp-fin",
        TcpRstFromClient => "tcp-rst-from-client",
        TcpRstFromServer => "tcp-rst-from-server",
        TcpReuse => "tcp-reuse",
        PolicyDeny => "policy-deny",
        Threat => "threat",
        ResourcesUnavailable => "resources-unavailable",
        Decoder => "decoder",
        DecryptError => "decrypt-error",
        DecryptCertValidation => "decrypt-cert-validation",
        DecryptUnsupportParam => "decrypt-unsupport-param",
        Unknown => "unknown",
        /// Not an end record (deny/drop logs before a session exists).
        NotApplicable => "n/a",
    }
}

labelled_enum! {
    /// Security policy actions (PAN-OS names).
    Action {
        Allow => "allow",
        Deny => "deny",
        Drop => "drop",
        DropIcmp => "drop-icmp",
        ResetClient => "reset-client",
        ResetServer => "reset-server",
        ResetBoth => "reset-both",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for r in DropReason::ALL {
            assert_eq!(DropReason::from_label(r.label()), Some(*r));
            assert!(seen.insert(r.label()));
        }
        for r in EndReason::ALL {
            assert_eq!(EndReason::from_label(r.label()), Some(*r));
        }
        assert_eq!(EndReason::COUNT, 14);
        assert_eq!(Action::from_label("reset-both"), Some(Action::ResetBoth));
        for f in Flood::ALL {
            assert_eq!(Flood::from_label(f.label()), Some(*f));
            assert!(f.drop_reason().label().ends_with("-flood"));
        }
        assert_eq!(Flood::of_proto(6).drop_reason(), DropReason::SynFlood);
    }
}
