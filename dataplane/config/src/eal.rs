//! What the EAL arguments say about lcores: which are enabled and which is the main one.
//!
//! DPDK runs `main()` on the main lcore, which is `--main-lcore N` when given, else the
//! lowest lcore of the core list (`-l 0-3` or the mask `-c 0xf`), else lcore 0 (no list
//! given: DPDK then enables every core and the lowest is 0). synwall's management thread
//! runs there, so a worker must not be placed on it.
//!
//! `--lcores` (DPDK's lcore-to-cpu map syntax, `1@0,(2-3)@1`) is not interpreted: with it the
//! enabled set is unknown and only the `--main-lcore` / lowest-lcore rule is applied to
//! whatever `-l`/`-c` also say.

/// The lcores the EAL will run, as far as the arguments tell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EalLcores {
    /// The lcore that runs `main()`: management, never a worker.
    pub main: u32,
    /// Lcores enabled by `-l` or `-c`, ascending; `None` when no list was given (all cores)
    /// or `--lcores` was used.
    pub enabled: Option<Vec<u32>>,
}

/// An EAL argument that could not be understood: index into the `eal` list and why.
pub type EalArgError = (usize, String);

/// Reads `-l`, `-c`, `--main-lcore` (and the older `--master-lcore`) from EAL arguments.
pub fn eal_lcores(args: &[String]) -> Result<EalLcores, EalArgError> {
    let mut enabled: Option<Vec<u32>> = None;
    let mut main: Option<u32> = None;
    let mut lcores_map = false;
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_str();
        // Options take their value glued (`-l0-3`, `--main-lcore=1`) or as the next argument.
        let value = |glued: &str| -> Result<(usize, String), EalArgError> {
            if !glued.is_empty() {
                Ok((i, glued.to_owned()))
            } else {
                args.get(i + 1)
                    .map(|v| (i + 1, v.clone()))
                    .ok_or_else(|| (i, format!("EAL option {arg} needs a value")))
            }
        };
        if let Some(glued) = arg.strip_prefix("-l").filter(|_| !arg.starts_with("--")) {
            let (at, list) = value(glued)?;
            enabled = Some(parse_core_list(&list).map_err(|e| (at, e))?);
            i = at;
        } else if let Some(glued) = arg.strip_prefix("-c").filter(|_| !arg.starts_with("--")) {
            let (at, mask) = value(glued)?;
            enabled = Some(parse_core_mask(&mask).map_err(|e| (at, e))?);
            i = at;
        } else if let Some(rest) = arg
            .strip_prefix("--main-lcore")
            .or_else(|| arg.strip_prefix("--master-lcore"))
        {
            let (at, text) = value(rest.strip_prefix('=').unwrap_or(rest))?;
            main = Some(
                text.parse()
                    .map_err(|_| (at, format!("main lcore {text:?} is not a number")))?,
            );
            i = at;
        } else if arg == "--lcores" || arg.starts_with("--lcores=") {
            lcores_map = true;
        }
        i += 1;
    }
    let lowest = enabled.as_ref().and_then(|cores| cores.first().copied());
    Ok(EalLcores {
        main: main.or(lowest).unwrap_or(0),
        enabled: if lcores_map { None } else { enabled },
    })
}

/// `0-3,5,8-9` -> [0, 1, 2, 3, 5, 8, 9].
fn parse_core_list(list: &str) -> Result<Vec<u32>, String> {
    let bad = || format!("EAL core list {list:?} is not of the form 0-3,5");
    let mut cores = Vec::new();
    for part in list.split(',') {
        let (lo, hi) = match part.split_once('-') {
            Some((lo, hi)) => (lo, hi),
            None => (part, part),
        };
        let lo: u32 = lo.trim().parse().map_err(|_| bad())?;
        let hi: u32 = hi.trim().parse().map_err(|_| bad())?;
        if lo > hi || hi - lo > 4096 {
            return Err(bad());
        }
        cores.extend(lo..=hi);
    }
    cores.sort_unstable();
    cores.dedup();
    Ok(cores)
}

/// Hex mask, `0x` optional: `0x6` -> [1, 2].
fn parse_core_mask(mask: &str) -> Result<Vec<u32>, String> {
    let digits = mask
        .strip_prefix("0x")
        .or_else(|| mask.strip_prefix("0X"))
        .unwrap_or(mask);
    let bits = u128::from_str_radix(digits, 16)
        .map_err(|_| format!("EAL core mask {mask:?} is not a hexadecimal number"))?;
    if bits == 0 {
        return Err(format!("EAL core mask {mask:?} enables no lcore"));
    }
    Ok((0..128).filter(|b| bits & (1u128 << b) != 0).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn main_lcore_is_lowest_of_list_or_mask_or_zero() {
        let l = eal_lcores(&args(&["--no-huge", "-l", "2-4,7"])).unwrap();
        assert_eq!(l.main, 2);
        assert_eq!(l.enabled, Some(vec![2, 3, 4, 7]));
        assert_eq!(eal_lcores(&args(&["-l1,3"])).unwrap().main, 1);
        let c = eal_lcores(&args(&["-c", "0x6"])).unwrap();
        assert_eq!((c.main, c.enabled), (1, Some(vec![1, 2])));
        let none = eal_lcores(&args(&["--no-pci"])).unwrap();
        assert_eq!((none.main, none.enabled), (0, None));
    }

    #[test]
    fn explicit_main_lcore_wins() {
        let l = eal_lcores(&args(&["-l", "0-3", "--main-lcore", "3"])).unwrap();
        assert_eq!(l.main, 3);
        assert_eq!(eal_lcores(&args(&["--main-lcore=2"])).unwrap().main, 2);
        assert_eq!(eal_lcores(&args(&["--master-lcore", "5"])).unwrap().main, 5);
    }

    #[test]
    fn lcores_map_leaves_the_enabled_set_unknown() {
        let l = eal_lcores(&args(&["-l", "1-2", "--lcores=(1-2)@0"])).unwrap();
        assert_eq!((l.main, l.enabled), (1, None));
    }

    #[test]
    fn bad_arguments_name_their_index() {
        assert_eq!(eal_lcores(&args(&["-m", "1", "-l", "x"])).unwrap_err().0, 3);
        assert_eq!(eal_lcores(&args(&["-l"])).unwrap_err().0, 0);
        assert_eq!(eal_lcores(&args(&["-c", "0"])).unwrap_err().0, 1);
        assert_eq!(eal_lcores(&args(&["-l", "3-1"])).unwrap_err().0, 1);
        assert!(eal_lcores(&args(&["--main-lcore", "x"])).is_err());
    }
}
