"""What the `lifesign` command says, in each language a site may choose (site.yaml ``language:``).

One entry per message id: the English text (the reference, as the CLI has always printed
it) and the Chinese (zh-CN) one a community office reads. Placeholders are ``str.format``
fields; both languages of an id name the same ones (tests/test_cli_language.py checks).
Config errors keep their file:line and field text in English: only their lead-in is
translated, so the place to fix stays exact.
"""

from __future__ import annotations

CATALOGUE: dict[str, dict[str, str]] = {
    # -- errors (app/cli.py) ------------------------------------------------------------
    "error.config": {"en": "error: {detail}", "zh-CN": "配置错误（请按文件名和行号修改）：{detail}"},
    "error.input": {"en": "error: {detail}", "zh-CN": "错误：{detail}"},
    "error.io": {"en": "error: {detail}", "zh-CN": "错误（文件或网络）：{detail}"},
    "error.lang_env": {"en": "LIFESIGN_LANG must be one of {choices}, got {value!r}",
                       "zh-CN": "LIFESIGN_LANG 必须是 {choices} 之一，实际为 {value!r}"},
    # -- times and windows (absence, outage, ledger) ------------------------------------
    "time.bad_when": {"en": "a time must be 'now', '+<n>m|h|d' or 'YYYY-MM-DD[ HH:MM]' (local), got {text!r}",
                      "zh-CN": "时间应为 'now'、'+<数字>m|h|d' 或当地时间 'YYYY-MM-DD[ HH:MM]'，实际为 {text!r}"},
    "time.bad_duration": {"en": "a duration must be a number and m, h or d (e.g. 90m, 12h, 3d), got {text!r}",
                          "zh-CN": "时长应为数字加 m、h 或 d（如 90m、12h、3d），实际为 {text!r}"},
    "time.end_before_start": {"en": "the window must end after it starts, got {start} to {end}",
                              "zh-CN": "结束时间必须晚于开始时间，实际为 {start} 至 {end}"},
    "window.now": {"en": "now", "zh-CN": "进行中"},
    "window.ended": {"en": "ended", "zh-CN": "已结束"},
    "window.coming": {"en": "coming", "zh-CN": "未开始"},
    # -- lifesign absence ---------------------------------------------------------------
    "absence.added": {"en": "absence #{id} {household} {start} -> {end} ({reason})",
                      "zh-CN": "已登记外出 #{id} {household}：{start} 至 {end}（{reason}）"},
    "absence.ended": {"en": "absence #{id} {household} ended {at}",
                      "zh-CN": "外出登记 #{id} {household} 已于 {at} 结束"},
    "absence.none": {"en": "no absences", "zh-CN": "没有外出登记"},
    "absence.none_current": {"en": "no current or coming absences", "zh-CN": "没有进行中或未开始的外出登记"},
    "absence.line": {"en": "#{id:<4} {household:<10} {start} -> {end} {state:<7} by {by}: {reason}",
                     "zh-CN": "#{id:<4} {household:<10} {start} 至 {end} {state:<5} 登记人 {by}：{reason}"},
    # -- lifesign outage ----------------------------------------------------------------
    "outage.added": {"en": "outage #{id} {scope} {area} {utilities} {start} -> {end} ({reason})",
                     "zh-CN": "已登记计划停供 #{id} {scope} {area} {utilities}：{start} 至 {end}（{reason}）"},
    "outage.ended": {"en": "outage #{id} {scope} {area} ended {at}",
                     "zh-CN": "计划停供 #{id} {scope} {area} 已于 {at} 结束"},
    "outage.none": {"en": "no outages", "zh-CN": "没有计划停供"},
    "outage.none_current": {"en": "no current or coming outages", "zh-CN": "没有进行中或未开始的计划停供"},
    "outage.line": {"en": "#{id:<4} {scope:<9} {area:<8} {utilities:<18} {start} -> {end} {state:<7} by {by}: "
                          "{reason}",
                    "zh-CN": "#{id:<4} {scope:<9} {area:<8} {utilities:<18} {start} 至 {end} {state:<5} 登记人 {by}："
                             "{reason}"},
    # -- lifesign status ----------------------------------------------------------------
    "status.missing": {"en": "No status in {folder} (expected {path}; is `lifesign run` running there?)",
                       "zh-CN": "{folder} 中没有运行状态（应有 {path}；`lifesign run` 是否在用这个目录？）"},
    "status.header": {"en": "status written {age:.0f} s ago (service clock {at}); {households} households, "
                            "{meters} meters, history: {history}",
                      "zh-CN": "状态写于 {age:.0f} 秒前（服务时钟 {at}）；{households} 户，{meters} 块表计，"
                               "历史存储：{history}"},
    "status.messages": {"en": "  messages   received {received:>12,}  acked {acked:>12,}  pending {pending:,}",
                        "zh-CN": "  消息       已接收 {received:>12,}  已确认 {acked:>12,}  待处理 {pending:,}"},
    "status.readings": {"en": "  readings   received {received:>12,}  stored {stored:>11,}  duplicates {duplicates:,}"
                              "  late {late:,}  register resets {resets:,}",
                        "zh-CN": "  读数       已接收 {received:>12,}  已存储 {stored:>11,}  重复 {duplicates:,}"
                                 "  迟到 {late:,}  表底重置 {resets:,}"},
    "status.rejected": {"en": "  rejected   {total:,} ({detail})", "zh-CN": "  已拒收     {total:,}（{detail}）"},
    "status.rejected_none": {"en": "none", "zh-CN": "无"},
    "status.broker": {"en": "  broker     {state}; lost or refused {disconnects:,} times; dead-letter reports sent "
                            "{sent:,}, withheld {withheld:,}",
                      "zh-CN": "  消息代理   {state}；断开或被拒 {disconnects:,} 次；死信报告已发 {sent:,}，"
                               "暂扣 {withheld:,}"},
    "status.broker_up": {"en": "connected", "zh-CN": "已连接"},
    "status.broker_down": {"en": "DISCONNECTED", "zh-CN": "已断开"},
    "status.store": {"en": "  store      {state}; spool {spool:,} readings ({megabytes:.1f} MB); spooled {spooled:,}, "
                           "drained {drained:,}",
                     "zh-CN": "  历史存储   {state}；本地缓存 {spool:,} 条读数（{megabytes:.1f} MB）；"
                              "累计缓存 {spooled:,}，已补写 {drained:,}"},
    "status.store_up": {"en": "up", "zh-CN": "正常"},
    "status.store_down": {"en": "UNREACHABLE", "zh-CN": "无法连接"},
    "status.newest": {"en": "  newest reading {at}", "zh-CN": "  最新读数 {at}"},
    "status.lag": {"en": " ({lag:.0f} s behind the service clock)", "zh-CN": "（比服务时钟晚 {lag:.0f} 秒）"},
    "status.holding": {"en": "  partition  {partition}, held by this instance ({holder}, epoch {epoch})",
                       "zh-CN": "  分区       {partition}，由本实例持有（{holder}，第 {epoch} 任）"},
    "status.standby": {"en": "this instance ({holder}) stands by for partition {partition} since {since}",
                       "zh-CN": "本实例（{holder}）自 {since} 起为分区 {partition} 待命"},
    "status.partitions": {"en": "partitions (leases in PostgreSQL)", "zh-CN": "分区（PostgreSQL 中的租约）"},
    "status.partition": {"en": "  {name:<12} {state}; communities {communities}, lease {lease:g} s",
                         "zh-CN": "  {name:<12} {state}；社区 {communities}，租约 {lease:g} 秒"},
    "status.partition_held": {"en": "held by {holder} since {since}, until {until} ({left:.1f} s left), epoch {epoch}",
                              "zh-CN": "由 {holder} 持有，自 {since} 起，至 {until}（剩余 {left:.1f} 秒），第 {epoch} 任"},
    "status.partition_never": {"en": "NOT HELD, never was", "zh-CN": "无人持有（从未被持有）"},
    "status.partition_lapsed": {"en": "NOT HELD: {holder}'s lease lapsed {ago:.1f} s ago",
                                "zh-CN": "无人持有：{holder} 的租约已于 {ago:.1f} 秒前过期"},
    # -- lifesign orders ----------------------------------------------------------------
    "orders.no_store": {"en": "No work-order store in {folder} (expected {path})",
                        "zh-CN": "{folder} 中没有工单库（应有 {path}）"},
    "orders.none": {"en": "no work orders", "zh-CN": "没有工单"},
    "orders.none_open": {"en": "no open work orders", "zh-CN": "没有未结工单"},
    "orders.line": {"en": "#{id:<5} {household:<10} {rule:<10} {status:<12} assignee={assignee} tier={tier} "
                          "level={level} silent-since={silent_since} opened={opened}",
                    "zh-CN": "#{id:<5} {household:<10} {rule:<8} {status:<6} 处理人={assignee} 风险等级={tier} "
                             "升级层级={level} 静默起始={silent_since} 开单={opened}"},
    "orders.outcome": {"en": " outcome={outcome}", "zh-CN": " 处置结果={outcome}"},
    "orders.resumed": {"en": " usage-resumed={at}", "zh-CN": " 用量恢复={at}"},
    "orders.acknowledged": {"en": "acknowledged: {at}", "zh-CN": "已接单：{at}"},
    "orders.ack_by": {"en": "acknowledge by: {at} ({minutes:g} min for tier {tier}; escalates to the next level then)",
                      "zh-CN": "接单期限：{at}（{tier}色等级 {minutes:g} 分钟；逾期升级到下一层级）"},
    "orders.evidence": {"en": "  {label}: {value}", "zh-CN": "  {label}：{value}"},
    "orders.hours": {"en": "{hours:.1f} h", "zh-CN": "{hours:.1f} 小时"},
    "orders.ledger_line": {"en": "  {at}  {actor:<16} {action:<24} {note}", "zh-CN": "  {at}  {actor:<16} {action:<24} {note}"},
    "orders.held_none": {"en": "no alert is held or muted", "zh-CN": "没有被暂缓或屏蔽的告警"},
    "orders.storm": {"en": "storm #{id} {scope} {area} {rule} {utilities} since {since}: order {order}",
                     "zh-CN": "批量告警 #{id} {scope} {area} {rule} {utilities} 自 {since} 起：合并为工单 {order}"},
    "orders.held": {"en": "{fate:<6} {household:<10} {rule:<14} {utilities:<18} seen {seen}  {reason}",
                    "zh-CN": "{fate:<4} {household:<10} {rule:<10} {utilities:<18} 发现于 {seen}  {reason}"},
    "orders.no_account": {"en": "No staff account by the name of {name!r} (see `lifesign staff list`)",
                          "zh-CN": "没有名为 {name!r} 的员工账号（见 `lifesign staff list`）"},
    # what an order's evidence holds (dispatch.ticket and the detector's rules); a key with no
    # entry here prints as itself
    "evidence.deadline": {"en": "threshold crossed", "zh-CN": "越过阈值时间"},
    "evidence.confirmed_silence_s": {"en": "confirmed_silence_s", "zh-CN": "已确认静默"},
    "evidence.threshold_s": {"en": "threshold_s", "zh-CN": "阈值"},
    "evidence.silence_so_far_s": {"en": "silence_so_far_s", "zh-CN": "至今静默"},
    "evidence.last_reading": {"en": "last_reading", "zh-CN": "最后读数"},
    "evidence.data_lag_s": {"en": "data_lag_s", "zh-CN": "数据延迟"},
    "evidence.last_water": {"en": "last_water", "zh-CN": "最后用水"},
    "evidence.last_electricity": {"en": "last_electricity", "zh-CN": "最后用电"},
    "evidence.last_gas": {"en": "last_gas", "zh-CN": "最后用气"},
    "evidence.offline_for_s": {"en": "offline_for_s", "zh-CN": "已离线"},
    "evidence.flowing_for_s": {"en": "flowing_for_s", "zh-CN": "已持续用水"},
    "evidence.flow_since": {"en": "flow_since", "zh-CN": "持续用水起始"},
    "evidence.configured_threshold_s": {"en": "configured_threshold_s", "zh-CN": "配置阈值"},
    "evidence.left_on_s": {"en": "left_on_s", "zh-CN": "电器未关时长"},
    "evidence.power_w": {"en": "power_w", "zh-CN": "当前功率(瓦)"},
    "evidence.quiet_w": {"en": "quiet_w", "zh-CN": "静息功率(瓦)"},
    "evidence.left_on_threshold_s": {"en": "left_on_threshold_s", "zh-CN": "电器未关阈值"},
    "evidence.threshold_deadline": {"en": "threshold_deadline", "zh-CN": "常规阈值时间"},
    # the words of an order's fields (rule, status, tier, outcome); English shows the id itself
    "rule.no_usage": {"en": "no_usage", "zh-CN": "无用量"},
    "rule.meter_offline": {"en": "meter_offline", "zh-CN": "表计离线"},
    "rule.meter_stuck": {"en": "meter_stuck", "zh-CN": "表计卡滞"},
    "rule.continuous_flow": {"en": "continuous_flow", "zh-CN": "长流水"},
    "rule.low_volume": {"en": "low_volume", "zh-CN": "用水过少"},
    "rule.abnormal_high": {"en": "abnormal_high", "zh-CN": "用量异常偏高"},
    "status.open": {"en": "open", "zh-CN": "待派送"},
    "status.notified": {"en": "notified", "zh-CN": "待接单"},
    "status.acknowledged": {"en": "acknowledged", "zh-CN": "已接单"},
    "status.onsite": {"en": "onsite", "zh-CN": "已到场"},
    "status.resolved": {"en": "resolved", "zh-CN": "已结案"},
    "tier.red": {"en": "red", "zh-CN": "红"},
    "tier.yellow": {"en": "yellow", "zh-CN": "黄"},
    "tier.green": {"en": "green", "zh-CN": "绿"},
    "outcome.resident_fine": {"en": "resident_fine", "zh-CN": "居民安好"},
    "outcome.assisted": {"en": "assisted", "zh-CN": "已协助"},
    "outcome.hospitalised": {"en": "hospitalised", "zh-CN": "已送医"},
    "outcome.away": {"en": "away", "zh-CN": "外出不在家"},
    "outcome.meter_fault": {"en": "meter_fault", "zh-CN": "表计故障"},
    "outcome.false_alarm": {"en": "false_alarm", "zh-CN": "误报"},
    # -- lifesign config check ----------------------------------------------------------
    "config.checking": {"en": "{file}: checking as a {kind} file ({why})", "zh-CN": "{file}：按{kind}检查（{why}）"},
    "config.kind.roster": {"en": "roster", "zh-CN": "排班表"},
    "config.kind.learned": {"en": "learned households", "zh-CN": "学习所得住户阈值文件"},
    "config.kind.thresholds": {"en": "thresholds", "zh-CN": "阈值文件"},
    "config.kind.site": {"en": "site", "zh-CN": "站点配置"},
    "config.why.roster": {"en": "it has workers:", "zh-CN": "文件中有 workers:"},
    "config.why.learned": {"en": "it has only households:, like `lifesign learn` output",
                           "zh-CN": "文件中只有 households:，与 `lifesign learn` 的输出相同"},
    "config.why.thresholds": {"en": "it has defaults:, tiers: or activity:",
                              "zh-CN": "文件中有 defaults:、tiers: 或 activity:"},
    "config.why.site": {"en": "it has neither workers: (roster) nor defaults:/tiers:/activity: (thresholds)",
                        "zh-CN": "文件中既没有 workers:（排班表），也没有 defaults:/tiers:/activity:（阈值文件）"},
    "config.ok_roster": {"en": "{file}: ok (roster, {workers} workers)", "zh-CN": "{file}：通过（排班表，{workers} 名人员）"},
    "config.ok_learned": {"en": "{file}: ok (included households, {overrides} overrides)",
                          "zh-CN": "{file}：通过（被引用的住户阈值，{overrides} 户）"},
    "config.ok_thresholds": {"en": "{file}: ok (thresholds)", "zh-CN": "{file}：通过（阈值文件）"},
    "config.ok_site": {"en": "{file}: ok (site, with its registry, roster and thresholds)",
                       "zh-CN": "{file}：通过（站点配置及其登记表、排班表和阈值文件）"},
    "config.ok_site_warnings": {"en": "{file}: ok (site, with its registry, roster and thresholds; {count} warning(s))",
                                "zh-CN": "{file}：通过（站点配置及其登记表、排班表和阈值文件；{count} 条警告）"},
    "config.warning": {"en": "warning: {warning}", "zh-CN": "警告：{warning}"},
    # -- lifesign staff -----------------------------------------------------------------
    "staff.password": {"en": "password for {name}: ", "zh-CN": "{name} 的密码："},
    "staff.again": {"en": "again: ", "zh-CN": "再输入一次："},
    "staff.differ": {"en": "the two passwords differ", "zh-CN": "两次输入的密码不一致"},
    "staff.wrong_area": {"en": "a {role} account takes --{option}", "zh-CN": "{role} 账号应使用 --{option}"},
    "staff.created": {"en": "staff account {name} ({role}{area}) created", "zh-CN": "已创建员工账号 {name}（{role}{area}）"},
    "staff.none": {"en": "no staff accounts: create the first with `lifesign staff add NAME --role operator`",
                   "zh-CN": "还没有员工账号：用 `lifesign staff add 名字 --role operator` 创建第一个"},
    "staff.line": {"en": "{name:<20} {role:<9} {area}", "zh-CN": "{name:<20} {role:<9} {area}"},
    # -- lifesign learn -----------------------------------------------------------------
    "learn.bad_numbers": {"en": "--hours must be > 0, --margin >= 1 and --rhythms >= 0, got {hours}, {margin} and "
                                "{rhythms}",
                          "zh-CN": "--hours 必须 > 0，--margin 必须 >= 1，--rhythms 必须 >= 0，实际为 {hours}、{margin} 和 "
                                   "{rhythms}"},
    "learn.rhythm_only": {"en": "--hours and --margin are the rhythm method's; {thresholds} or --method asks for "
                                "{method} (its budget is the learn: section)",
                          "zh-CN": "--hours 和 --margin 只用于 rhythm 方法；{thresholds} 或 --method 指定的是 {method}"
                                   "（其误报预算在 learn: 一节）"},
    "learn.learned": {"en": "{count} households learned from {days:.0f} days of {source}{skipped}; "
                            "suggestions written to {out}",
                      "zh-CN": "已从 {source} 的 {days:.0f} 天数据学习 {count} 户{skipped}；建议写入 {out}"},
    "learn.skipped_short": {"en": " ({count} with under a week of history left out)",
                            "zh-CN": "（{count} 户历史不足一周，未学习）"},
    "learn.learned_calibrated": {"en": "{count} households learned ({method}) from {days:.0f} days of {source}"
                                       "{skipped}, to {budget:g} false alarms per home-month held out, "
                                       "{min_hours:g}-{max_hours:g} h; suggestions written to {out}",
                                 "zh-CN": "已按 {method} 方法从 {source} 的 {days:.0f} 天数据学习 {count} 户{skipped}，"
                                          "留出数据上每户每月误报 {budget:g} 次，阈值 {min_hours:g}-{max_hours:g} 小时；"
                                          "建议写入 {out}"},
    "learn.skipped_empty": {"en": " ({count} without readings left out)", "zh-CN": "（{count} 户没有读数，未学习）"},
    "learn.outcomes": {"en": "outcomes on record: {false_alarms} false alarms, {away} found away, in {households} "
                             "households",
                       "zh-CN": "已记录的处置结果：误报 {false_alarms} 次，外出不在家 {away} 次，涉及 {households} 户"},
    "learn.review": {"en": "review it, then add `include: [{name}]` to {thresholds} to use it",
                     "zh-CN": "请审阅该文件，确认后在 {thresholds} 中加入 `include: [{name}]` 即可启用"},
    "learn.no_orders": {"en": "--orders {path} does not exist", "zh-CN": "--orders 指定的 {path} 不存在"},
    "history.empty": {"en": "no readings in {source} for the period asked", "zh-CN": "{source} 在所选时段内没有读数"},
    # -- lifesign run and the broker wait (app/broker_wait.py) --------------------------
    "broker.reachable": {"en": "broker {address} is reachable now", "zh-CN": "消息代理 {address} 现已可以连接"},
    "broker.retry": {"en": "broker {address} not reachable ({reason}); retrying in {delay:g} s (attempt {attempt}). "
                           "Is the broker running, and are site.yaml's broker host and port right?",
                     "zh-CN": "无法连接消息代理 {address}（{reason}）；{delay:g} 秒后重试（第 {attempt} 次）。"
                              "请确认消息代理已启动，且 site.yaml 中 broker 的 host 和 port 正确。"},
    "broker.refused": {"en": "connection refused: nothing listens there", "zh-CN": "连接被拒绝：该端口没有服务在监听"},
    "broker.unknown_host": {"en": "unknown host: {detail}", "zh-CN": "未知主机：{detail}"},
    "broker.no_answer": {"en": "no answer: a firewall, or the wrong host", "zh-CN": "无应答：可能被防火墙拦截，或主机地址有误"},
    "run.stopped_early": {"en": "lifesign stopped before the broker was reachable",
                          "zh-CN": "lifesign 在连上消息代理之前已停止"},
    "run.desk": {"en": "staff desk at {url}/ops (workers open their orders from the links in tickets)",
                 "zh-CN": "工作台地址 {url}/ops（网格员从工单消息中的链接打开工单）"},
    "run.running": {"en": "lifesign running against {address}; Ctrl-C to stop",
                    "zh-CN": "lifesign 已运行，连接消息代理 {address}；按 Ctrl-C 停止"},
    "run.stopped": {"en": "lifesign stopped", "zh-CN": "lifesign 已停止"},
    "run.running_partition": {"en": "lifesign running partition {partition} ({households:,} households) against "
                                    "{address}; Ctrl-C to stop",
                              "zh-CN": "lifesign 已运行，负责分区 {partition}（{households:,} 户），连接消息代理 {address}；"
                                       "按 Ctrl-C 停止"},
    # -- lifesign run --partition: standing by, taking over (app/standby.py) ------------
    "standby.waiting": {"en": "standby for partition {partition}: {state}", "zh-CN": "分区 {partition} 待命：{state}"},
    "standby.held_by": {"en": "held by {holder} (epoch {epoch}) for {left:.1f} s more unless renewed",
                        "zh-CN": "由 {holder} 持有（第 {epoch} 任），若不续约还剩 {left:.1f} 秒"},
    "standby.free": {"en": "lease free", "zh-CN": "租约空闲"},
    "standby.asking": {"en": "waiting for the lease", "zh-CN": "等待租约"},
    "standby.took_over": {"en": "took over partition {partition} (epoch {epoch}) {source}; rebuilt {readings:,} "
                                "readings and connected in {seconds:.2f} s",
                          "zh-CN": "已接管分区 {partition}（第 {epoch} 任）{source}；重建 {readings:,} 条读数并连接，"
                                   "用时 {seconds:.2f} 秒"},
    "standby.first_holder": {"en": "(its first holder)", "zh-CN": "（首任持有者）"},
    "standby.from": {"en": "from {holder} (its lease had lapsed {lapsed:.2f} s before)",
                     "zh-CN": "，接替 {holder}（其租约已过期 {lapsed:.2f} 秒）"},
    "standby.lost": {"en": "lost partition {partition} ({reason}): stopped ingest and dispatch, standing by",
                     "zh-CN": "失去分区 {partition}（{reason}）：已停止接收和派单，转为待命"},
    # -- lifesign ledger ----------------------------------------------------------------
    "ledger.written": {"en": "wrote {count} ledger lines to {file}", "zh-CN": "已将 {count} 行台账写入 {file}"},
    # -- lifesign backtest: its plot ----------------------------------------------------
    "backtest.plot_written": {"en": "plot of {household} written to {path}", "zh-CN": "{household} 的图已写入 {path}"},
    "plot.unknown_household": {"en": "No household by the id of {household!r} is registered",
                               "zh-CN": "登记表中没有住户 {household!r}"},
    "plot.panel": {"en": "{household} {meter} ({utility})", "zh-CN": "{household} {meter}（{utility}）"},
    "plot.water": {"en": "water", "zh-CN": "水"},
    "plot.electricity": {"en": "electricity", "zh-CN": "电"},
    "plot.gas": {"en": "gas", "zh-CN": "燃气"},
    "plot.litres": {"en": "{utility} L per reading", "zh-CN": "每次读数{utility}量（升）"},
    "plot.power": {"en": "mean power W", "zh-CN": "平均功率（瓦）"},
    "plot.change": {"en": "change from the reading before, W", "zh-CN": "与上一读数相比的功率变化（瓦）"},
    "plot.volume_threshold": {"en": "activity: {litres:g} L or more above a constant flow",
                              "zh-CN": "活动：比持续流量多 {litres:g} 升及以上"},
    "plot.change_threshold": {"en": "activity: a change over {watts:.0f} W (at {minutes:g}-min readings)",
                              "zh-CN": "活动：功率变化超过 {watts:.0f} 瓦（{minutes:g} 分钟一次读数）"},
    "plot.activity": {"en": "activity (a sign of life)", "zh-CN": "活动（生活迹象）"},
    "plot.silence": {"en": "{rule}: from the silence's start to its end", "zh-CN": "{rule}：从静默开始到结束"},
    "plot.warning": {"en": " (warning)", "zh-CN": "（提醒）"},
    "plot.episode": {"en": "{rule}: from its start to its end", "zh-CN": "{rule}：从开始到结束"},
    "plot.alert": {"en": "alert raised", "zh-CN": "发出告警"},
    "plot.truth": {"en": "ground truth: {kind}", "zh-CN": "真实事件：{kind}"},
    "kind.incapacitated": {"en": "incapacitated", "zh-CN": "失能（无法行动）"},
    "kind.fall_tap_running": {"en": "fall_tap_running", "zh-CN": "跌倒且水龙头未关"},
    "kind.illness": {"en": "illness", "zh-CN": "患病"},
    "kind.leak": {"en": "leak", "zh-CN": "漏水"},
    "kind.water_cut": {"en": "water_cut", "zh-CN": "停水"},
    "kind.power_cut": {"en": "power_cut", "zh-CN": "停电"},
    "kind.meter_offline": {"en": "meter_offline", "zh-CN": "表计离线"},
    "plot.away": {"en": "ground truth: resident away", "zh-CN": "真实情况：居民外出"},
    "plot.time_axis": {"en": "local time ({zone})", "zh-CN": "当地时间（{zone}）"},
    "plot.day_format": {"en": "%a %d %b", "zh-CN": "%m月%d日"},
    "plot.heatmap_title": {"en": "{household}: activity per hour of the local day, {first} to {last}",
                           "zh-CN": "{household}：按当地时间每小时的活动，{first} 至 {last}"},
    "plot.heatmap_colour": {"en": "readings showing activity in the hour", "zh-CN": "该小时内显示活动的读数"},
    "plot.hour_axis": {"en": "hour of the day ({zone})", "zh-CN": "一天中的小时（{zone}）"},
}
