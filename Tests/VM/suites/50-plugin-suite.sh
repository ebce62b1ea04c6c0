#!/bin/sh
# The shared plugin suite (Tests/PluginSuite) on a real edu device behind
# drvproxy, for the C and the Swift edu plugin. `swift test` runs the same
# script with the same expectations file against devsim's edu model, so a
# pass on both means devsim and the device agree.
. /suites/lib.sh

set -- $EDU_BDFS
dev=$1

bind_drvproxy $dev || { echo "FAIL: plugin_suite_bind: cannot bind $dev to drvproxy"; exit 0; }
for plugin in edu edu-swift; do
	label=plugin_$(echo $plugin | tr - _)
	if [ -f /plugins/$plugin.so ]; then
		sh /plugin-suite/plugin-suite.sh $dev /plugins/$plugin.so /plugins/peek.so \
			/plugin-suite/expectations $label
	else
		echo "FAIL: ${label}_present: /plugins/$plugin.so is not in the guest"
	fi
done
unbind $dev
