//! Exec sessions (`docker exec`): the endpoint adds `execs|<id>/…` keys to the running
//! containerVM's extraConfig (VIC's port layer does the same, under the non-persistent
//! `execs` map, vic.md §6.4) and the tether, on the reconfigure, launches each new one as it
//! launches the primary process — on its own [`crate::interaction`] channel named by the exec
//! id — and writes `execs|<id>.started`, later `status` and `detail.stoptime`. An exec's end
//! does not power the containerVM off.

use super::TetherAgent;
use super::session::{self, Kind, LaunchSpec, Proc};
use crate::guestinfo::{self, Keys, container as ck};
use vcsim::guest::{GuestEffects, GuestHandle, GuestView};

impl TetherAgent {
    pub(super) fn launch_execs(&self, vm: &GuestView, handle: &GuestHandle) -> GuestEffects {
        let keys = Keys::from_pairs(vm.extra_config.iter().cloned());
        let ids: Vec<String> = keys
            .get_map_keys(ck::EXECS)
            .unwrap_or_default()
            .into_iter()
            .filter(|id| !id.is_empty())
            .map(str::to_owned)
            .collect();
        let mut fx = GuestEffects::default();
        let mut sessions = self.lock();
        let Some(s) = sessions.get_mut(&vm.vm.value) else {
            return fx;
        };
        // Sessions the endpoint dropped from the map (it keeps the newest) and that ended
        // are forgotten here too.
        s.execs.retain(|p| p.running() || ids.contains(&p.id));
        for id in ids {
            if s.execs.iter().any(|p| p.id == id) {
                continue;
            }
            let flag = |f: &str| {
                keys.get_bool(&ck::exec_key(&id, f))
                    .ok()
                    .flatten()
                    .unwrap_or(false)
            };
            let path = keys.get(&ck::exec_key(&id, "cmd/Path")).unwrap_or("");
            let mut argv: Vec<String> = keys
                .get_strings_as_vic_reads(&ck::exec_key(&id, "cmd/Args"))
                .unwrap_or_default()
                .into_iter()
                .map(str::to_owned)
                .collect();
            if argv.is_empty() && !path.is_empty() {
                argv.push(path.to_owned());
            }
            if argv.is_empty() {
                fx.extra_config
                    .push((ck::exec_state_key(&id, "started"), super::NO_PROGRAM.into()));
                continue;
            }
            let mut context = s.context.clone();
            context.start_unix_s = vm.now_ms.div_euclid(1000);
            for kv in keys
                .get_strings(&ck::exec_key(&id, "cmd/Env"))
                .ok()
                .flatten()
                .unwrap_or_default()
            {
                let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                context.env.retain(|(name, _)| name != k);
                context.env.push((k.to_owned(), v.to_owned()));
            }
            let channel = self.hub.channel(&id);
            channel.begin_run();
            let mut launched = session::launch(
                LaunchSpec {
                    id: &id,
                    kind: Kind::Exec,
                    vm: &vm.vm,
                    argv: &argv,
                    tty: flag("tty"),
                    open_stdin: flag("openstdin"),
                    declared: None,
                    context,
                    now_ms: vm.now_ms,
                    clock: s.clock.clone(),
                },
                &channel,
                handle,
            );
            fx.extra_config.push((
                ck::exec_state_key(&id, "started"),
                guestinfo::STARTED_OK.into(),
            ));
            fx.extra_config.push((
                ck::exec_state_key(&id, "detail.starttime"),
                vm.now_ms.div_euclid(1000).to_string(),
            ));
            let mut p = Proc::new(&id, Kind::Exec, vm.now_ms, &mut launched, channel);
            if let Some(exit) = p.ended_at_launch() {
                session::merge(&mut fx, exit);
            }
            s.execs.push(p);
        }
        fx
    }
}
