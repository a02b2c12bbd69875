#!/usr/bin/env bash
# promtool's checks of the rules builtin:slo renders: rules.yaml is the rule
# groups of a PrometheusRule the plugin renders, kept current by the unit test
# promtool_rules_file_is_what_the_plugin_renders (cargo test -p
# opsmith-plugin-slo fails when it is stale), and slo.test.yaml fires the
# alerts on made-up traffic. Needs promtool (Debian: `apt-get install
# prometheus`).
set -euo pipefail
cd "$(dirname "$0")"
promtool check rules rules.yaml
promtool test rules slo.test.yaml
