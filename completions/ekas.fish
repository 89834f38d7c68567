# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_ekas_global_optspecs
    string join \n cluster-name= regions= kubeconfig= context= kube-timeout= aws-access-key= aws-secret-key= aws-profile= use-aws-iam-role aws-timeout= aws-attempt-timeout= aws-max-attempts= dry-run o/output= log-format= v/verbose h/help V/version
end

function __fish_ekas_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_ekas_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_ekas_using_subcommand
    set -l cmd (__fish_ekas_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c ekas -n "__fish_ekas_needs_command" -l cluster-name -d 'Name of the cluster whose node groups ekas manages (matched against the groups\' tags)' -r
complete -c ekas -n "__fish_ekas_needs_command" -l regions -d 'AWS regions to manage, comma-separated, in order of preference' -r
complete -c ekas -n "__fish_ekas_needs_command" -l kubeconfig -d 'Kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or the in-cluster service account)' -r -F
complete -c ekas -n "__fish_ekas_needs_command" -l context -d 'Kubeconfig context to use' -r
complete -c ekas -n "__fish_ekas_needs_command" -l kube-timeout -d 'A Kubernetes API call fails when the server sends nothing for this long (watches wait longer)' -r
complete -c ekas -n "__fish_ekas_needs_command" -l aws-access-key -d 'AWS access key id (default: the AWS SDK\'s credential chain)' -r
complete -c ekas -n "__fish_ekas_needs_command" -l aws-secret-key -d 'AWS secret access key' -r
complete -c ekas -n "__fish_ekas_needs_command" -l aws-profile -d 'AWS profile from the shared config files' -r
complete -c ekas -n "__fish_ekas_needs_command" -l aws-timeout -d 'Longest an AWS call may take, all its attempts and their backoff included' -r
complete -c ekas -n "__fish_ekas_needs_command" -l aws-attempt-timeout -d 'Longest one attempt of an AWS call may take before it is retried' -r
complete -c ekas -n "__fish_ekas_needs_command" -l aws-max-attempts -d 'Attempts per AWS call, with the SDK\'s adaptive retry on throttling and 5xx' -r
complete -c ekas -n "__fish_ekas_needs_command" -s o -l output -d 'Output format: tables of what an operator scans, `wide` tables with every detail, or one JSON document (as kubectl\'s -o)' -r -f -a "table\t''
wide\t''
json\t''"
complete -c ekas -n "__fish_ekas_needs_command" -l log-format -d 'Log lines as text or as JSON objects' -r -f -a "text\t''
json\t''"
complete -c ekas -n "__fish_ekas_needs_command" -l use-aws-iam-role -d 'Accepted for the original tool\'s setups; does nothing: without keys, the AWS SDK\'s default credential chain (instance role, IRSA, …) is used anyway'
complete -c ekas -n "__fish_ekas_needs_command" -l dry-run -d 'Log what would be changed, and change nothing'
complete -c ekas -n "__fish_ekas_needs_command" -s v -l verbose -d 'More log detail on standard error (-v info, -vv debug, -vvv trace)'
complete -c ekas -n "__fish_ekas_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ekas -n "__fish_ekas_needs_command" -s V -l version -d 'Print version'
complete -c ekas -n "__fish_ekas_needs_command" -f -a "plan" -d 'Preview the pending-pod deficit and every planned action, changing nothing'
complete -c ekas -n "__fish_ekas_needs_command" -f -a "scale-up" -d 'Apply one scale-up step: raise desired capacities for the pending pods'
complete -c ekas -n "__fish_ekas_needs_command" -f -a "drain" -d 'Cordon nodes and evict their pods safely'
complete -c ekas -n "__fish_ekas_needs_command" -f -a "reap" -d 'One-shot cleanup for cron: idle nodes, dead nodes, instances that never joined'
complete -c ekas -n "__fish_ekas_needs_command" -f -a "run" -d 'Run the autoscaler continuously'
complete -c ekas -n "__fish_ekas_needs_command" -f -a "snapshot" -d 'Write a snapshot of the cluster and its node groups to a file'
complete -c ekas -n "__fish_ekas_needs_command" -f -a "simulate" -d 'Replay a workload trace through the planning engine on a simulated cluster'
complete -c ekas -n "__fish_ekas_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l snapshot -d 'Read the cluster from a snapshot file instead of the live APIs' -r -F
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l namespace -d 'Read pods and PodDisruptionBudgets of this namespace only (default: all namespaces); not with maintenance, which must see every pod on a node' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l live-prices -d 'Price groups from AWS: on-demand prices from the Price List API (pricing:GetProducts), Spot prices from the Spot price history (ec2:DescribeSpotPriceHistory); false prices from --price-file and the bundled on-demand table only' -r -f -a "true\t''
false\t''"
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l over-provision -d 'Spare nodes to add to every group that scales up' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l scale-up-backoff -d 'First wait after a group fails to launch; doubles per further failure [seconds or 5m, 1h]' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l scale-up-backoff-max -d 'Longest wait after launch failures, and how far back failures count' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l max-node-provision-time -d 'A launch still in progress after this long counts as failed, putting its group in backoff; so do a node not started this long after registering and desired capacity not launched for this long' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l startup-taint -d 'A taint nodes carry while they start (repeatable; replaces the defaults); any taint prefixed startup-taint.cluster-autoscaler.kubernetes.io/ counts too' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l kube-reserved-cpu -d 'CPU the kubelet and system reserve on a new node: a quantity, or `auto` for the EKS AMI\'s sliding scale' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l kube-reserved-memory -d 'Memory reserved on a new node: a quantity, or `auto` for 255Mi + 11Mi per pod + 100Mi eviction + 3.5% for the kernel' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l max-pods -d 'Pods a new node accepts (the kubelet\'s --max-pods)' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l expendable-pods-priority-cutoff -d 'Pods with a priority below this never buy a node (cluster-autoscaler\'s rule)' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l new-pod-scale-up-delay -d 'Pods younger than this buy no node yet [seconds or 30s]' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l provisioning-request-booking -d 'How long room found or bought for a ProvisioningRequest is held for its pods; when they have not all arrived by then, the request gets BookingExpired and the room goes back to other pods and to scale-in' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l expander -d 'How the group that buys nodes is chosen, after region order: price, least-waste, most-pods, priority (the ekas/priority tag) or random, comma-separated, each narrowing the choice of the one before (cluster-autoscaler\'s names)' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l price-file -d 'Hourly prices that replace the snapshot\'s and the bundled on-demand ones (JSON: instance type → region → dollars per hour, e.g. with negotiated discounts)' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l idle-threshold -d 'How long a node must be idle before ekas cordons and then removes it: auto (per group, from its nodes\' launch time and the work arriving for it), or a duration for every group [seconds or 55m, the original tool\'s]' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l type-idle-threshold -d 'How long a few idle nodes of each instance type are kept as spares' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l instance-init-time -d 'How long an instance may take to join the cluster before it is replaced' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l type-idle-count -d 'Idle spares kept per group for --type-idle-threshold' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l dead-threshold -d 'A node NotReady this long is dead: its Node is deleted and its instance terminated' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l launch-grace -d 'Nodes younger than this are left alone to receive their first pods' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l max-concurrent-drains -d 'Drains under way at once, across the cluster' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l min-pod-age -d 'Pods that started less than this ago are not evicted by scale-in drains (formerly --drain-grace-period)' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l max-scale-in-fraction -d 'Largest fraction of the cluster\'s instances removed (terminated, drained or replaced) within one --scale-in-window' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l scale-in-window -d 'The window --max-scale-in-fraction counts removals over, across passes and restarts' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l interruption-drain-timeout -d 'A node whose instance has an interruption due within this long is drained, its running jobs too; the longest drain for a notice without a deadline (a stop, a lifecycle hook)' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l rebalance-cordon-ttl -d 'A rebalance recommendation\'s cordon is undone after this long with no follow-up' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l scale-down-utilization-threshold -d 'Busy nodes using less than this share of their cpu and of their memory are consolidated by attrition when their pods would fit on the other nodes: tainted PreferNoSchedule so new pods go elsewhere, removed once idle, never evicted (cluster-autoscaler\'s meaning)' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l drain-utilization-below -d 'Drain nodes whose utilisation is below this fraction (0 disables)' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l max-total-unready-percentage -d 'No node is removed while more than this percentage of nodes is NotReady (and more than --ok-total-unready-count)' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l ok-total-unready-count -d 'NotReady nodes tolerated whatever their share' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l cluster-name -d 'Name of the cluster whose node groups ekas manages (matched against the groups\' tags)' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l regions -d 'AWS regions to manage, comma-separated, in order of preference' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l kubeconfig -d 'Kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or the in-cluster service account)' -r -F
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l context -d 'Kubeconfig context to use' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l kube-timeout -d 'A Kubernetes API call fails when the server sends nothing for this long (watches wait longer)' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l aws-access-key -d 'AWS access key id (default: the AWS SDK\'s credential chain)' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l aws-secret-key -d 'AWS secret access key' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l aws-profile -d 'AWS profile from the shared config files' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l aws-timeout -d 'Longest an AWS call may take, all its attempts and their backoff included' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l aws-attempt-timeout -d 'Longest one attempt of an AWS call may take before it is retried' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l aws-max-attempts -d 'Attempts per AWS call, with the SDK\'s adaptive retry on throttling and 5xx' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -s o -l output -d 'Output format: tables of what an operator scans, `wide` tables with every detail, or one JSON document (as kubectl\'s -o)' -r -f -a "table\t''
wide\t''
json\t''"
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l log-format -d 'Log lines as text or as JSON objects' -r -f -a "text\t''
json\t''"
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l scale-up-only-unschedulable -d 'Buy nodes only for pods the scheduler has marked unschedulable (by default every pending pod counts at once, so a burst of jobs need not wait for the scheduler)'
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l no-balance -d 'Do not share scale-ups between groups that differ only by zone'
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l no-gangs -d 'Plan each pod alone, even when it belongs to a gang (a PodGroup of the coscheduling plugin or Volcano); by default a gang\'s pods buy nodes all together or not at all'
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l avoid-interrupted-groups -d 'Within a region, prefer groups with fewer interruption notices in the last hour (counted by `ekas run --interruption-queue`), before any expander'
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l no-consolidation -d 'Never consolidate nodes by attrition (marks already set are removed)'
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l drain-running-jobs -d 'Let utilisation drains evict pods that run to completion (a Job\'s, restartPolicy Never/OnFailure), losing their work'
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l respect-scale-in-protection -d 'Never drain or terminate instances protected from scale-in (by default ekas removes protected instances it decided to remove, as the original tool did)'
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l use-aws-iam-role -d 'Accepted for the original tool\'s setups; does nothing: without keys, the AWS SDK\'s default credential chain (instance role, IRSA, …) is used anyway'
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l dry-run -d 'Log what would be changed, and change nothing'
complete -c ekas -n "__fish_ekas_using_subcommand plan" -s v -l verbose -d 'More log detail on standard error (-v info, -vv debug, -vvv trace)'
complete -c ekas -n "__fish_ekas_using_subcommand plan" -s h -l help -d 'Print help'
complete -c ekas -n "__fish_ekas_using_subcommand plan" -s V -l version -d 'Print version'
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l namespace -d 'Read pods and PodDisruptionBudgets of this namespace only (default: all namespaces); not with maintenance, which must see every pod on a node' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l live-prices -d 'Price groups from AWS: on-demand prices from the Price List API (pricing:GetProducts), Spot prices from the Spot price history (ec2:DescribeSpotPriceHistory); false prices from --price-file and the bundled on-demand table only' -r -f -a "true\t''
false\t''"
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l over-provision -d 'Spare nodes to add to every group that scales up' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l scale-up-backoff -d 'First wait after a group fails to launch; doubles per further failure [seconds or 5m, 1h]' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l scale-up-backoff-max -d 'Longest wait after launch failures, and how far back failures count' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l max-node-provision-time -d 'A launch still in progress after this long counts as failed, putting its group in backoff; so do a node not started this long after registering and desired capacity not launched for this long' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l startup-taint -d 'A taint nodes carry while they start (repeatable; replaces the defaults); any taint prefixed startup-taint.cluster-autoscaler.kubernetes.io/ counts too' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l kube-reserved-cpu -d 'CPU the kubelet and system reserve on a new node: a quantity, or `auto` for the EKS AMI\'s sliding scale' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l kube-reserved-memory -d 'Memory reserved on a new node: a quantity, or `auto` for 255Mi + 11Mi per pod + 100Mi eviction + 3.5% for the kernel' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l max-pods -d 'Pods a new node accepts (the kubelet\'s --max-pods)' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l expendable-pods-priority-cutoff -d 'Pods with a priority below this never buy a node (cluster-autoscaler\'s rule)' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l new-pod-scale-up-delay -d 'Pods younger than this buy no node yet [seconds or 30s]' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l provisioning-request-booking -d 'How long room found or bought for a ProvisioningRequest is held for its pods; when they have not all arrived by then, the request gets BookingExpired and the room goes back to other pods and to scale-in' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l expander -d 'How the group that buys nodes is chosen, after region order: price, least-waste, most-pods, priority (the ekas/priority tag) or random, comma-separated, each narrowing the choice of the one before (cluster-autoscaler\'s names)' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l price-file -d 'Hourly prices that replace the snapshot\'s and the bundled on-demand ones (JSON: instance type → region → dollars per hour, e.g. with negotiated discounts)' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l idle-threshold -d 'How long a node must be idle before ekas cordons and then removes it: auto (per group, from its nodes\' launch time and the work arriving for it), or a duration for every group [seconds or 55m, the original tool\'s]' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l type-idle-threshold -d 'How long a few idle nodes of each instance type are kept as spares' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l instance-init-time -d 'How long an instance may take to join the cluster before it is replaced' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l type-idle-count -d 'Idle spares kept per group for --type-idle-threshold' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l dead-threshold -d 'A node NotReady this long is dead: its Node is deleted and its instance terminated' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l launch-grace -d 'Nodes younger than this are left alone to receive their first pods' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l max-concurrent-drains -d 'Drains under way at once, across the cluster' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l min-pod-age -d 'Pods that started less than this ago are not evicted by scale-in drains (formerly --drain-grace-period)' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l max-scale-in-fraction -d 'Largest fraction of the cluster\'s instances removed (terminated, drained or replaced) within one --scale-in-window' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l scale-in-window -d 'The window --max-scale-in-fraction counts removals over, across passes and restarts' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l interruption-drain-timeout -d 'A node whose instance has an interruption due within this long is drained, its running jobs too; the longest drain for a notice without a deadline (a stop, a lifecycle hook)' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l rebalance-cordon-ttl -d 'A rebalance recommendation\'s cordon is undone after this long with no follow-up' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l scale-down-utilization-threshold -d 'Busy nodes using less than this share of their cpu and of their memory are consolidated by attrition when their pods would fit on the other nodes: tainted PreferNoSchedule so new pods go elsewhere, removed once idle, never evicted (cluster-autoscaler\'s meaning)' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l drain-utilization-below -d 'Drain nodes whose utilisation is below this fraction (0 disables)' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l max-total-unready-percentage -d 'No node is removed while more than this percentage of nodes is NotReady (and more than --ok-total-unready-count)' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l ok-total-unready-count -d 'NotReady nodes tolerated whatever their share' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l lease-namespace -d 'Namespace of the Lease that keeps two ekas processes from acting at once' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l lease-name -d 'Name of that Lease' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l lease-duration -d 'How long a holder keeps the Lease without renewing it; holders renew every third of it, and every call\'s deadline must fit in half of it [seconds or 1m]' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l slack-hook -d 'Slack incoming-webhook URL for notifications (prefer the SLACK_HOOK variable: a command line is visible to every user of the machine)' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l slack-timeout -d 'A Slack post that has not finished after this long is given up (and logged)' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l cluster-name -d 'Name of the cluster whose node groups ekas manages (matched against the groups\' tags)' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l regions -d 'AWS regions to manage, comma-separated, in order of preference' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l kubeconfig -d 'Kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or the in-cluster service account)' -r -F
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l context -d 'Kubeconfig context to use' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l kube-timeout -d 'A Kubernetes API call fails when the server sends nothing for this long (watches wait longer)' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l aws-access-key -d 'AWS access key id (default: the AWS SDK\'s credential chain)' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l aws-secret-key -d 'AWS secret access key' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l aws-profile -d 'AWS profile from the shared config files' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l aws-timeout -d 'Longest an AWS call may take, all its attempts and their backoff included' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l aws-attempt-timeout -d 'Longest one attempt of an AWS call may take before it is retried' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l aws-max-attempts -d 'Attempts per AWS call, with the SDK\'s adaptive retry on throttling and 5xx' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -s o -l output -d 'Output format: tables of what an operator scans, `wide` tables with every detail, or one JSON document (as kubectl\'s -o)' -r -f -a "table\t''
wide\t''
json\t''"
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l log-format -d 'Log lines as text or as JSON objects' -r -f -a "text\t''
json\t''"
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l scale-up-only-unschedulable -d 'Buy nodes only for pods the scheduler has marked unschedulable (by default every pending pod counts at once, so a burst of jobs need not wait for the scheduler)'
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l no-balance -d 'Do not share scale-ups between groups that differ only by zone'
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l no-gangs -d 'Plan each pod alone, even when it belongs to a gang (a PodGroup of the coscheduling plugin or Volcano); by default a gang\'s pods buy nodes all together or not at all'
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l avoid-interrupted-groups -d 'Within a region, prefer groups with fewer interruption notices in the last hour (counted by `ekas run --interruption-queue`), before any expander'
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l no-consolidation -d 'Never consolidate nodes by attrition (marks already set are removed)'
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l drain-running-jobs -d 'Let utilisation drains evict pods that run to completion (a Job\'s, restartPolicy Never/OnFailure), losing their work'
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l respect-scale-in-protection -d 'Never drain or terminate instances protected from scale-in (by default ekas removes protected instances it decided to remove, as the original tool did)'
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l use-aws-iam-role -d 'Accepted for the original tool\'s setups; does nothing: without keys, the AWS SDK\'s default credential chain (instance role, IRSA, …) is used anyway'
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l dry-run -d 'Log what would be changed, and change nothing'
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -s v -l verbose -d 'More log detail on standard error (-v info, -vv debug, -vvv trace)'
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -s h -l help -d 'Print help'
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -s V -l version -d 'Print version'
complete -c ekas -n "__fish_ekas_using_subcommand drain" -l timeout -d 'Give up when pods remain after this long; the node stays cordoned [seconds or 15m]' -r
complete -c ekas -n "__fish_ekas_using_subcommand drain" -l grace-period -d 'Seconds each evicted pod gets to stop; negative: the pod\'s own terminationGracePeriodSeconds (as kubectl drain)' -r
complete -c ekas -n "__fish_ekas_using_subcommand drain" -l min-pod-age -d 'Pods that started less than this ago are not evicted yet: the drain waits for them' -r
complete -c ekas -n "__fish_ekas_using_subcommand drain" -l pod-selector -d 'Evict only the pods that match this label selector (as kubectl drain); the others are neither evicted nor waited for' -r
complete -c ekas -n "__fish_ekas_using_subcommand drain" -l cluster-name -d 'Name of the cluster whose node groups ekas manages (matched against the groups\' tags)' -r
complete -c ekas -n "__fish_ekas_using_subcommand drain" -l regions -d 'AWS regions to manage, comma-separated, in order of preference' -r
complete -c ekas -n "__fish_ekas_using_subcommand drain" -l kubeconfig -d 'Kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or the in-cluster service account)' -r -F
complete -c ekas -n "__fish_ekas_using_subcommand drain" -l context -d 'Kubeconfig context to use' -r
complete -c ekas -n "__fish_ekas_using_subcommand drain" -l kube-timeout -d 'A Kubernetes API call fails when the server sends nothing for this long (watches wait longer)' -r
complete -c ekas -n "__fish_ekas_using_subcommand drain" -l aws-access-key -d 'AWS access key id (default: the AWS SDK\'s credential chain)' -r
complete -c ekas -n "__fish_ekas_using_subcommand drain" -l aws-secret-key -d 'AWS secret access key' -r
complete -c ekas -n "__fish_ekas_using_subcommand drain" -l aws-profile -d 'AWS profile from the shared config files' -r
complete -c ekas -n "__fish_ekas_using_subcommand drain" -l aws-timeout -d 'Longest an AWS call may take, all its attempts and their backoff included' -r
complete -c ekas -n "__fish_ekas_using_subcommand drain" -l aws-attempt-timeout -d 'Longest one attempt of an AWS call may take before it is retried' -r
complete -c ekas -n "__fish_ekas_using_subcommand drain" -l aws-max-attempts -d 'Attempts per AWS call, with the SDK\'s adaptive retry on throttling and 5xx' -r
complete -c ekas -n "__fish_ekas_using_subcommand drain" -s o -l output -d 'Output format: tables of what an operator scans, `wide` tables with every detail, or one JSON document (as kubectl\'s -o)' -r -f -a "table\t''
wide\t''
json\t''"
complete -c ekas -n "__fish_ekas_using_subcommand drain" -l log-format -d 'Log lines as text or as JSON objects' -r -f -a "text\t''
json\t''"
complete -c ekas -n "__fish_ekas_using_subcommand drain" -l force -d 'Also evict pods that no controller owns; they will not be recreated'
complete -c ekas -n "__fish_ekas_using_subcommand drain" -l delete-emptydir-data -d 'Also evict pods with emptyDir volumes, whose data is lost'
complete -c ekas -n "__fish_ekas_using_subcommand drain" -l ignore-daemonsets -d 'Accepted for kubectl compatibility: DaemonSet pods are always left in place'
complete -c ekas -n "__fish_ekas_using_subcommand drain" -l disable-eviction -d 'Refused: ekas evicts only through the Eviction API, so PodDisruptionBudgets hold'
complete -c ekas -n "__fish_ekas_using_subcommand drain" -l use-aws-iam-role -d 'Accepted for the original tool\'s setups; does nothing: without keys, the AWS SDK\'s default credential chain (instance role, IRSA, …) is used anyway'
complete -c ekas -n "__fish_ekas_using_subcommand drain" -l dry-run -d 'Log what would be changed, and change nothing'
complete -c ekas -n "__fish_ekas_using_subcommand drain" -s v -l verbose -d 'More log detail on standard error (-v info, -vv debug, -vvv trace)'
complete -c ekas -n "__fish_ekas_using_subcommand drain" -s h -l help -d 'Print help'
complete -c ekas -n "__fish_ekas_using_subcommand drain" -s V -l version -d 'Print version'
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l namespace -d 'Read pods and PodDisruptionBudgets of this namespace only (default: all namespaces); not with maintenance, which must see every pod on a node' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l live-prices -d 'Price groups from AWS: on-demand prices from the Price List API (pricing:GetProducts), Spot prices from the Spot price history (ec2:DescribeSpotPriceHistory); false prices from --price-file and the bundled on-demand table only' -r -f -a "true\t''
false\t''"
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l over-provision -d 'Spare nodes to add to every group that scales up' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l scale-up-backoff -d 'First wait after a group fails to launch; doubles per further failure [seconds or 5m, 1h]' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l scale-up-backoff-max -d 'Longest wait after launch failures, and how far back failures count' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l max-node-provision-time -d 'A launch still in progress after this long counts as failed, putting its group in backoff; so do a node not started this long after registering and desired capacity not launched for this long' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l startup-taint -d 'A taint nodes carry while they start (repeatable; replaces the defaults); any taint prefixed startup-taint.cluster-autoscaler.kubernetes.io/ counts too' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l kube-reserved-cpu -d 'CPU the kubelet and system reserve on a new node: a quantity, or `auto` for the EKS AMI\'s sliding scale' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l kube-reserved-memory -d 'Memory reserved on a new node: a quantity, or `auto` for 255Mi + 11Mi per pod + 100Mi eviction + 3.5% for the kernel' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l max-pods -d 'Pods a new node accepts (the kubelet\'s --max-pods)' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l expendable-pods-priority-cutoff -d 'Pods with a priority below this never buy a node (cluster-autoscaler\'s rule)' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l new-pod-scale-up-delay -d 'Pods younger than this buy no node yet [seconds or 30s]' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l provisioning-request-booking -d 'How long room found or bought for a ProvisioningRequest is held for its pods; when they have not all arrived by then, the request gets BookingExpired and the room goes back to other pods and to scale-in' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l expander -d 'How the group that buys nodes is chosen, after region order: price, least-waste, most-pods, priority (the ekas/priority tag) or random, comma-separated, each narrowing the choice of the one before (cluster-autoscaler\'s names)' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l price-file -d 'Hourly prices that replace the snapshot\'s and the bundled on-demand ones (JSON: instance type → region → dollars per hour, e.g. with negotiated discounts)' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l idle-threshold -d 'How long a node must be idle before ekas cordons and then removes it: auto (per group, from its nodes\' launch time and the work arriving for it), or a duration for every group [seconds or 55m, the original tool\'s]' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l type-idle-threshold -d 'How long a few idle nodes of each instance type are kept as spares' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l instance-init-time -d 'How long an instance may take to join the cluster before it is replaced' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l type-idle-count -d 'Idle spares kept per group for --type-idle-threshold' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l dead-threshold -d 'A node NotReady this long is dead: its Node is deleted and its instance terminated' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l launch-grace -d 'Nodes younger than this are left alone to receive their first pods' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l max-concurrent-drains -d 'Drains under way at once, across the cluster' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l min-pod-age -d 'Pods that started less than this ago are not evicted by scale-in drains (formerly --drain-grace-period)' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l max-scale-in-fraction -d 'Largest fraction of the cluster\'s instances removed (terminated, drained or replaced) within one --scale-in-window' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l scale-in-window -d 'The window --max-scale-in-fraction counts removals over, across passes and restarts' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l interruption-drain-timeout -d 'A node whose instance has an interruption due within this long is drained, its running jobs too; the longest drain for a notice without a deadline (a stop, a lifecycle hook)' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l rebalance-cordon-ttl -d 'A rebalance recommendation\'s cordon is undone after this long with no follow-up' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l scale-down-utilization-threshold -d 'Busy nodes using less than this share of their cpu and of their memory are consolidated by attrition when their pods would fit on the other nodes: tainted PreferNoSchedule so new pods go elsewhere, removed once idle, never evicted (cluster-autoscaler\'s meaning)' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l drain-utilization-below -d 'Drain nodes whose utilisation is below this fraction (0 disables)' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l max-total-unready-percentage -d 'No node is removed while more than this percentage of nodes is NotReady (and more than --ok-total-unready-count)' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l ok-total-unready-count -d 'NotReady nodes tolerated whatever their share' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l lease-namespace -d 'Namespace of the Lease that keeps two ekas processes from acting at once' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l lease-name -d 'Name of that Lease' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l lease-duration -d 'How long a holder keeps the Lease without renewing it; holders renew every third of it, and every call\'s deadline must fit in half of it [seconds or 1m]' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l slack-hook -d 'Slack incoming-webhook URL for notifications (prefer the SLACK_HOOK variable: a command line is visible to every user of the machine)' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l slack-timeout -d 'A Slack post that has not finished after this long is given up (and logged)' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l cluster-name -d 'Name of the cluster whose node groups ekas manages (matched against the groups\' tags)' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l regions -d 'AWS regions to manage, comma-separated, in order of preference' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l kubeconfig -d 'Kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or the in-cluster service account)' -r -F
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l context -d 'Kubeconfig context to use' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l kube-timeout -d 'A Kubernetes API call fails when the server sends nothing for this long (watches wait longer)' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l aws-access-key -d 'AWS access key id (default: the AWS SDK\'s credential chain)' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l aws-secret-key -d 'AWS secret access key' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l aws-profile -d 'AWS profile from the shared config files' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l aws-timeout -d 'Longest an AWS call may take, all its attempts and their backoff included' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l aws-attempt-timeout -d 'Longest one attempt of an AWS call may take before it is retried' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l aws-max-attempts -d 'Attempts per AWS call, with the SDK\'s adaptive retry on throttling and 5xx' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -s o -l output -d 'Output format: tables of what an operator scans, `wide` tables with every detail, or one JSON document (as kubectl\'s -o)' -r -f -a "table\t''
wide\t''
json\t''"
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l log-format -d 'Log lines as text or as JSON objects' -r -f -a "text\t''
json\t''"
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l scale-up-only-unschedulable -d 'Buy nodes only for pods the scheduler has marked unschedulable (by default every pending pod counts at once, so a burst of jobs need not wait for the scheduler)'
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l no-balance -d 'Do not share scale-ups between groups that differ only by zone'
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l no-gangs -d 'Plan each pod alone, even when it belongs to a gang (a PodGroup of the coscheduling plugin or Volcano); by default a gang\'s pods buy nodes all together or not at all'
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l avoid-interrupted-groups -d 'Within a region, prefer groups with fewer interruption notices in the last hour (counted by `ekas run --interruption-queue`), before any expander'
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l no-consolidation -d 'Never consolidate nodes by attrition (marks already set are removed)'
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l drain-running-jobs -d 'Let utilisation drains evict pods that run to completion (a Job\'s, restartPolicy Never/OnFailure), losing their work'
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l respect-scale-in-protection -d 'Never drain or terminate instances protected from scale-in (by default ekas removes protected instances it decided to remove, as the original tool did)'
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l use-aws-iam-role -d 'Accepted for the original tool\'s setups; does nothing: without keys, the AWS SDK\'s default credential chain (instance role, IRSA, …) is used anyway'
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l dry-run -d 'Log what would be changed, and change nothing'
complete -c ekas -n "__fish_ekas_using_subcommand reap" -s v -l verbose -d 'More log detail on standard error (-v info, -vv debug, -vvv trace)'
complete -c ekas -n "__fish_ekas_using_subcommand reap" -s h -l help -d 'Print help'
complete -c ekas -n "__fish_ekas_using_subcommand reap" -s V -l version -d 'Print version'
complete -c ekas -n "__fish_ekas_using_subcommand run" -l namespace -d 'Read pods and PodDisruptionBudgets of this namespace only (default: all namespaces); not with maintenance, which must see every pod on a node' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l live-prices -d 'Price groups from AWS: on-demand prices from the Price List API (pricing:GetProducts), Spot prices from the Spot price history (ec2:DescribeSpotPriceHistory); false prices from --price-file and the bundled on-demand table only' -r -f -a "true\t''
false\t''"
complete -c ekas -n "__fish_ekas_using_subcommand run" -l over-provision -d 'Spare nodes to add to every group that scales up' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l scale-up-backoff -d 'First wait after a group fails to launch; doubles per further failure [seconds or 5m, 1h]' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l scale-up-backoff-max -d 'Longest wait after launch failures, and how far back failures count' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l max-node-provision-time -d 'A launch still in progress after this long counts as failed, putting its group in backoff; so do a node not started this long after registering and desired capacity not launched for this long' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l startup-taint -d 'A taint nodes carry while they start (repeatable; replaces the defaults); any taint prefixed startup-taint.cluster-autoscaler.kubernetes.io/ counts too' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l kube-reserved-cpu -d 'CPU the kubelet and system reserve on a new node: a quantity, or `auto` for the EKS AMI\'s sliding scale' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l kube-reserved-memory -d 'Memory reserved on a new node: a quantity, or `auto` for 255Mi + 11Mi per pod + 100Mi eviction + 3.5% for the kernel' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l max-pods -d 'Pods a new node accepts (the kubelet\'s --max-pods)' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l expendable-pods-priority-cutoff -d 'Pods with a priority below this never buy a node (cluster-autoscaler\'s rule)' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l new-pod-scale-up-delay -d 'Pods younger than this buy no node yet [seconds or 30s]' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l provisioning-request-booking -d 'How long room found or bought for a ProvisioningRequest is held for its pods; when they have not all arrived by then, the request gets BookingExpired and the room goes back to other pods and to scale-in' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l expander -d 'How the group that buys nodes is chosen, after region order: price, least-waste, most-pods, priority (the ekas/priority tag) or random, comma-separated, each narrowing the choice of the one before (cluster-autoscaler\'s names)' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l price-file -d 'Hourly prices that replace the snapshot\'s and the bundled on-demand ones (JSON: instance type → region → dollars per hour, e.g. with negotiated discounts)' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l idle-threshold -d 'How long a node must be idle before ekas cordons and then removes it: auto (per group, from its nodes\' launch time and the work arriving for it), or a duration for every group [seconds or 55m, the original tool\'s]' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l type-idle-threshold -d 'How long a few idle nodes of each instance type are kept as spares' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l instance-init-time -d 'How long an instance may take to join the cluster before it is replaced' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l type-idle-count -d 'Idle spares kept per group for --type-idle-threshold' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l dead-threshold -d 'A node NotReady this long is dead: its Node is deleted and its instance terminated' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l launch-grace -d 'Nodes younger than this are left alone to receive their first pods' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l max-concurrent-drains -d 'Drains under way at once, across the cluster' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l min-pod-age -d 'Pods that started less than this ago are not evicted by scale-in drains (formerly --drain-grace-period)' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l max-scale-in-fraction -d 'Largest fraction of the cluster\'s instances removed (terminated, drained or replaced) within one --scale-in-window' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l scale-in-window -d 'The window --max-scale-in-fraction counts removals over, across passes and restarts' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l interruption-drain-timeout -d 'A node whose instance has an interruption due within this long is drained, its running jobs too; the longest drain for a notice without a deadline (a stop, a lifecycle hook)' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l rebalance-cordon-ttl -d 'A rebalance recommendation\'s cordon is undone after this long with no follow-up' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l scale-down-utilization-threshold -d 'Busy nodes using less than this share of their cpu and of their memory are consolidated by attrition when their pods would fit on the other nodes: tainted PreferNoSchedule so new pods go elsewhere, removed once idle, never evicted (cluster-autoscaler\'s meaning)' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l drain-utilization-below -d 'Drain nodes whose utilisation is below this fraction (0 disables)' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l max-total-unready-percentage -d 'No node is removed while more than this percentage of nodes is NotReady (and more than --ok-total-unready-count)' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l ok-total-unready-count -d 'NotReady nodes tolerated whatever their share' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l lease-namespace -d 'Namespace of the Lease that keeps two ekas processes from acting at once' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l lease-name -d 'Name of that Lease' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l lease-duration -d 'How long a holder keeps the Lease without renewing it; holders renew every third of it, and every call\'s deadline must fit in half of it [seconds or 1m]' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l slack-hook -d 'Slack incoming-webhook URL for notifications (prefer the SLACK_HOOK variable: a command line is visible to every user of the machine)' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l slack-timeout -d 'A Slack post that has not finished after this long is given up (and logged)' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l sleep -d 'Longest time between passes' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l batch-idle -d 'A pass starts once no new pending pod has appeared for this long, so a burst is one pass' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l batch-max -d 'A burst that keeps arriving still starts its pass after this long' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l leader-elect -d 'Act only while holding the Lease; --leader-elect=false for a single replica that must not wait for one' -r -f -a "true\t''
false\t''"
complete -c ekas -n "__fish_ekas_using_subcommand run" -l interruption-queue -d 'SQS queue of EventBridge interruption events (Spot warnings, rebalance, state changes, Health scheduled changes, lifecycle hooks): [REGION=]NAME_OR_URL, repeatable; a name is looked up in REGION, else the URL\'s region, else the first of --regions' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l interruption-accounts -d 'Accept interruption messages only from these AWS accounts (comma-separated); by default any account\'s, from the expected source and a region of --regions' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l lifecycle-hook-max-wait -d 'How long a lifecycle hook keeps an instance for its running jobs to finish (heartbeats) before they are evicted and the group told to continue; at most the hook\'s own global timeout' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l interruption-retry-after -d 'A message whose handling failed is shown again after this long (five failures and it is dropped, with a Warning Event)' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l metrics-address -d 'Where to serve /metrics and /healthz' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l unhealthy-after -d '/healthz fails once no pass has completed (on a standby: no leader was seen) for this long [default: 3 × --sleep, at least 2m]' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l api-discovery-every -d 'How often the optional APIs (PodGroups, ProvisioningRequests) are looked for again, so a CRD installed later is read without a restart' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l on-demand-price-refresh -d 'How long on-demand prices read from AWS are used before they are read again' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l spot-price-refresh -d 'How long Spot prices read from AWS are used before they are read again' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l cluster-name -d 'Name of the cluster whose node groups ekas manages (matched against the groups\' tags)' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l regions -d 'AWS regions to manage, comma-separated, in order of preference' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l kubeconfig -d 'Kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or the in-cluster service account)' -r -F
complete -c ekas -n "__fish_ekas_using_subcommand run" -l context -d 'Kubeconfig context to use' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l kube-timeout -d 'A Kubernetes API call fails when the server sends nothing for this long (watches wait longer)' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l aws-access-key -d 'AWS access key id (default: the AWS SDK\'s credential chain)' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l aws-secret-key -d 'AWS secret access key' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l aws-profile -d 'AWS profile from the shared config files' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l aws-timeout -d 'Longest an AWS call may take, all its attempts and their backoff included' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l aws-attempt-timeout -d 'Longest one attempt of an AWS call may take before it is retried' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l aws-max-attempts -d 'Attempts per AWS call, with the SDK\'s adaptive retry on throttling and 5xx' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -s o -l output -d 'Output format: tables of what an operator scans, `wide` tables with every detail, or one JSON document (as kubectl\'s -o)' -r -f -a "table\t''
wide\t''
json\t''"
complete -c ekas -n "__fish_ekas_using_subcommand run" -l log-format -d 'Log lines as text or as JSON objects' -r -f -a "text\t''
json\t''"
complete -c ekas -n "__fish_ekas_using_subcommand run" -l scale-up-only-unschedulable -d 'Buy nodes only for pods the scheduler has marked unschedulable (by default every pending pod counts at once, so a burst of jobs need not wait for the scheduler)'
complete -c ekas -n "__fish_ekas_using_subcommand run" -l no-balance -d 'Do not share scale-ups between groups that differ only by zone'
complete -c ekas -n "__fish_ekas_using_subcommand run" -l no-gangs -d 'Plan each pod alone, even when it belongs to a gang (a PodGroup of the coscheduling plugin or Volcano); by default a gang\'s pods buy nodes all together or not at all'
complete -c ekas -n "__fish_ekas_using_subcommand run" -l avoid-interrupted-groups -d 'Within a region, prefer groups with fewer interruption notices in the last hour (counted by `ekas run --interruption-queue`), before any expander'
complete -c ekas -n "__fish_ekas_using_subcommand run" -l no-consolidation -d 'Never consolidate nodes by attrition (marks already set are removed)'
complete -c ekas -n "__fish_ekas_using_subcommand run" -l drain-running-jobs -d 'Let utilisation drains evict pods that run to completion (a Job\'s, restartPolicy Never/OnFailure), losing their work'
complete -c ekas -n "__fish_ekas_using_subcommand run" -l respect-scale-in-protection -d 'Never drain or terminate instances protected from scale-in (by default ekas removes protected instances it decided to remove, as the original tool did)'
complete -c ekas -n "__fish_ekas_using_subcommand run" -l no-scale -d 'Never scale up: only maintain existing nodes'
complete -c ekas -n "__fish_ekas_using_subcommand run" -l no-maintenance -d 'Never scale in or touch existing nodes: only scale up'
complete -c ekas -n "__fish_ekas_using_subcommand run" -l use-aws-iam-role -d 'Accepted for the original tool\'s setups; does nothing: without keys, the AWS SDK\'s default credential chain (instance role, IRSA, …) is used anyway'
complete -c ekas -n "__fish_ekas_using_subcommand run" -l dry-run -d 'Log what would be changed, and change nothing'
complete -c ekas -n "__fish_ekas_using_subcommand run" -s v -l verbose -d 'More log detail on standard error (-v info, -vv debug, -vvv trace)'
complete -c ekas -n "__fish_ekas_using_subcommand run" -s h -l help -d 'Print help'
complete -c ekas -n "__fish_ekas_using_subcommand run" -s V -l version -d 'Print version'
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l out -d 'Where to write the snapshot, readable by its owner only (standard output when absent)' -r -F
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l pods -d 'Pods for the Kubernetes half: `kubectl get pods -A -o json` output' -r -F
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l nodes -d 'Nodes for the Kubernetes half: `kubectl get nodes -o json` output' -r -F
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l daemonsets -d 'DaemonSets: `kubectl get ds -A -o json` output' -r -F
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l pdbs -d 'PodDisruptionBudgets: `kubectl get pdb -A -o json` output' -r -F
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l namespaces -d 'Namespaces, for namespace selectors: `kubectl get ns -o json` output' -r -F
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l pvcs -d 'PersistentVolumeClaims: `kubectl get pvc -A -o json` output (with --pvs and --storage-classes)' -r -F
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l pvs -d 'PersistentVolumes: `kubectl get pv -o json` output' -r -F
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l storage-classes -d 'StorageClasses: `kubectl get storageclass -o json` output' -r -F
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l pod-groups -d 'PodGroups, for gangs\' minMember: `kubectl get podgroups.scheduling.x-k8s.io,podgroups.scheduling.volcano.sh,podgroups.scheduling.k8s.io -A -o json` output' -r -F
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l provisioning-requests -d 'ProvisioningRequests: `kubectl get provisioningrequests.autoscaling.x-k8s.io -A -o json` output (with --pod-templates)' -r -F
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l pod-templates -d 'PodTemplates the ProvisioningRequests name: `kubectl get podtemplates -A -o json` output' -r -F
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l price-file -d 'Hourly prices to record in the snapshot instead of the bundled on-demand ones (JSON: instance type → region → dollars per hour)' -r
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l namespace -d 'Read pods and PodDisruptionBudgets of this namespace only (default: all namespaces); not with maintenance, which must see every pod on a node' -r
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l live-prices -d 'Price groups from AWS: on-demand prices from the Price List API (pricing:GetProducts), Spot prices from the Spot price history (ec2:DescribeSpotPriceHistory); false prices from --price-file and the bundled on-demand table only' -r -f -a "true\t''
false\t''"
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l cluster-name -d 'Name of the cluster whose node groups ekas manages (matched against the groups\' tags)' -r
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l regions -d 'AWS regions to manage, comma-separated, in order of preference' -r
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l kubeconfig -d 'Kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or the in-cluster service account)' -r -F
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l context -d 'Kubeconfig context to use' -r
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l kube-timeout -d 'A Kubernetes API call fails when the server sends nothing for this long (watches wait longer)' -r
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l aws-access-key -d 'AWS access key id (default: the AWS SDK\'s credential chain)' -r
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l aws-secret-key -d 'AWS secret access key' -r
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l aws-profile -d 'AWS profile from the shared config files' -r
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l aws-timeout -d 'Longest an AWS call may take, all its attempts and their backoff included' -r
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l aws-attempt-timeout -d 'Longest one attempt of an AWS call may take before it is retried' -r
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l aws-max-attempts -d 'Attempts per AWS call, with the SDK\'s adaptive retry on throttling and 5xx' -r
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -s o -l output -d 'Output format: tables of what an operator scans, `wide` tables with every detail, or one JSON document (as kubectl\'s -o)' -r -f -a "table\t''
wide\t''
json\t''"
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l log-format -d 'Log lines as text or as JSON objects' -r -f -a "text\t''
json\t''"
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l use-aws-iam-role -d 'Accepted for the original tool\'s setups; does nothing: without keys, the AWS SDK\'s default credential chain (instance role, IRSA, …) is used anyway'
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l dry-run -d 'Log what would be changed, and change nothing'
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -s v -l verbose -d 'More log detail on standard error (-v info, -vv debug, -vvv trace)'
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -s h -l help -d 'Print help'
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -s V -l version -d 'Print version'
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l trace -d 'The workload: CSV with a header row, or JSON lines (README: Simulating a workload)' -r -F
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l cluster -d 'The cluster: a snapshot file (as `ekas snapshot` writes), with an optional `simulation` object' -r -F
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l set -d 'Change an option for every configuration, as its flag would (`--set idle-threshold=10m`); repeatable' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l compare -d 'Simulate once per value, side by side (`--compare idle-threshold=10m,55m`; `policy=ekas,original`; `+` joins a list: `regions=us-west-2,us-west-2+us-east-1`); repeated, every combination' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l policy -d 'Whose decisions: ekas\'s engine, or the original tool\'s (first fit by nodeSelector, over-provision 5, 5 spares per group, idle by node age)' -r -f -a "ekas\t'ekas\'s engine'
original\t'The original tool\'s scale-up choice and idle rules'"
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l chart -d 'Write an SVG chart of pending pods and nodes per group over time' -r -F
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l seed -d 'Seed of the launch and join delays (default: the cluster file\'s simulation.seed, else one derived from the inputs)' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l namespace -d 'Read pods and PodDisruptionBudgets of this namespace only (default: all namespaces); not with maintenance, which must see every pod on a node' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l live-prices -d 'Price groups from AWS: on-demand prices from the Price List API (pricing:GetProducts), Spot prices from the Spot price history (ec2:DescribeSpotPriceHistory); false prices from --price-file and the bundled on-demand table only' -r -f -a "true\t''
false\t''"
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l over-provision -d 'Spare nodes to add to every group that scales up' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l scale-up-backoff -d 'First wait after a group fails to launch; doubles per further failure [seconds or 5m, 1h]' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l scale-up-backoff-max -d 'Longest wait after launch failures, and how far back failures count' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l max-node-provision-time -d 'A launch still in progress after this long counts as failed, putting its group in backoff; so do a node not started this long after registering and desired capacity not launched for this long' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l startup-taint -d 'A taint nodes carry while they start (repeatable; replaces the defaults); any taint prefixed startup-taint.cluster-autoscaler.kubernetes.io/ counts too' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l kube-reserved-cpu -d 'CPU the kubelet and system reserve on a new node: a quantity, or `auto` for the EKS AMI\'s sliding scale' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l kube-reserved-memory -d 'Memory reserved on a new node: a quantity, or `auto` for 255Mi + 11Mi per pod + 100Mi eviction + 3.5% for the kernel' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l max-pods -d 'Pods a new node accepts (the kubelet\'s --max-pods)' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l expendable-pods-priority-cutoff -d 'Pods with a priority below this never buy a node (cluster-autoscaler\'s rule)' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l new-pod-scale-up-delay -d 'Pods younger than this buy no node yet [seconds or 30s]' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l provisioning-request-booking -d 'How long room found or bought for a ProvisioningRequest is held for its pods; when they have not all arrived by then, the request gets BookingExpired and the room goes back to other pods and to scale-in' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l expander -d 'How the group that buys nodes is chosen, after region order: price, least-waste, most-pods, priority (the ekas/priority tag) or random, comma-separated, each narrowing the choice of the one before (cluster-autoscaler\'s names)' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l price-file -d 'Hourly prices that replace the snapshot\'s and the bundled on-demand ones (JSON: instance type → region → dollars per hour, e.g. with negotiated discounts)' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l idle-threshold -d 'How long a node must be idle before ekas cordons and then removes it: auto (per group, from its nodes\' launch time and the work arriving for it), or a duration for every group [seconds or 55m, the original tool\'s]' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l type-idle-threshold -d 'How long a few idle nodes of each instance type are kept as spares' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l instance-init-time -d 'How long an instance may take to join the cluster before it is replaced' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l type-idle-count -d 'Idle spares kept per group for --type-idle-threshold' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l dead-threshold -d 'A node NotReady this long is dead: its Node is deleted and its instance terminated' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l launch-grace -d 'Nodes younger than this are left alone to receive their first pods' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l max-concurrent-drains -d 'Drains under way at once, across the cluster' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l min-pod-age -d 'Pods that started less than this ago are not evicted by scale-in drains (formerly --drain-grace-period)' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l max-scale-in-fraction -d 'Largest fraction of the cluster\'s instances removed (terminated, drained or replaced) within one --scale-in-window' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l scale-in-window -d 'The window --max-scale-in-fraction counts removals over, across passes and restarts' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l interruption-drain-timeout -d 'A node whose instance has an interruption due within this long is drained, its running jobs too; the longest drain for a notice without a deadline (a stop, a lifecycle hook)' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l rebalance-cordon-ttl -d 'A rebalance recommendation\'s cordon is undone after this long with no follow-up' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l scale-down-utilization-threshold -d 'Busy nodes using less than this share of their cpu and of their memory are consolidated by attrition when their pods would fit on the other nodes: tainted PreferNoSchedule so new pods go elsewhere, removed once idle, never evicted (cluster-autoscaler\'s meaning)' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l drain-utilization-below -d 'Drain nodes whose utilisation is below this fraction (0 disables)' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l max-total-unready-percentage -d 'No node is removed while more than this percentage of nodes is NotReady (and more than --ok-total-unready-count)' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l ok-total-unready-count -d 'NotReady nodes tolerated whatever their share' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l sleep -d 'Longest time between passes' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l batch-idle -d 'A pass starts once no new pending pod has appeared for this long, so a burst is one pass' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l batch-max -d 'A burst that keeps arriving still starts its pass after this long' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l scheduler-scoring -d 'How the simulated kube-scheduler ranks the nodes a pod fits: least-allocated (its default profile, spreads pods) or most-allocated (configured to pack)' -r -f -a "least-allocated\t'The default profile: prefers the node with the most room left (spreads pods)'
most-allocated\t'Prefers the fullest node that fits (packs pods): kube-scheduler configured to pack'"
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l cluster-name -d 'Name of the cluster whose node groups ekas manages (matched against the groups\' tags)' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l regions -d 'AWS regions to manage, comma-separated, in order of preference' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l kubeconfig -d 'Kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or the in-cluster service account)' -r -F
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l context -d 'Kubeconfig context to use' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l kube-timeout -d 'A Kubernetes API call fails when the server sends nothing for this long (watches wait longer)' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l aws-access-key -d 'AWS access key id (default: the AWS SDK\'s credential chain)' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l aws-secret-key -d 'AWS secret access key' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l aws-profile -d 'AWS profile from the shared config files' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l aws-timeout -d 'Longest an AWS call may take, all its attempts and their backoff included' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l aws-attempt-timeout -d 'Longest one attempt of an AWS call may take before it is retried' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l aws-max-attempts -d 'Attempts per AWS call, with the SDK\'s adaptive retry on throttling and 5xx' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -s o -l output -d 'Output format: tables of what an operator scans, `wide` tables with every detail, or one JSON document (as kubectl\'s -o)' -r -f -a "table\t''
wide\t''
json\t''"
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l log-format -d 'Log lines as text or as JSON objects' -r -f -a "text\t''
json\t''"
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l scale-up-only-unschedulable -d 'Buy nodes only for pods the scheduler has marked unschedulable (by default every pending pod counts at once, so a burst of jobs need not wait for the scheduler)'
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l no-balance -d 'Do not share scale-ups between groups that differ only by zone'
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l no-gangs -d 'Plan each pod alone, even when it belongs to a gang (a PodGroup of the coscheduling plugin or Volcano); by default a gang\'s pods buy nodes all together or not at all'
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l avoid-interrupted-groups -d 'Within a region, prefer groups with fewer interruption notices in the last hour (counted by `ekas run --interruption-queue`), before any expander'
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l no-consolidation -d 'Never consolidate nodes by attrition (marks already set are removed)'
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l drain-running-jobs -d 'Let utilisation drains evict pods that run to completion (a Job\'s, restartPolicy Never/OnFailure), losing their work'
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l respect-scale-in-protection -d 'Never drain or terminate instances protected from scale-in (by default ekas removes protected instances it decided to remove, as the original tool did)'
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l use-aws-iam-role -d 'Accepted for the original tool\'s setups; does nothing: without keys, the AWS SDK\'s default credential chain (instance role, IRSA, …) is used anyway'
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l dry-run -d 'Log what would be changed, and change nothing'
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -s v -l verbose -d 'More log detail on standard error (-v info, -vv debug, -vvv trace)'
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -s V -l version -d 'Print version'
complete -c ekas -n "__fish_ekas_using_subcommand completions" -l cluster-name -d 'Name of the cluster whose node groups ekas manages (matched against the groups\' tags)' -r
complete -c ekas -n "__fish_ekas_using_subcommand completions" -l regions -d 'AWS regions to manage, comma-separated, in order of preference' -r
complete -c ekas -n "__fish_ekas_using_subcommand completions" -l kubeconfig -d 'Kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or the in-cluster service account)' -r -F
complete -c ekas -n "__fish_ekas_using_subcommand completions" -l context -d 'Kubeconfig context to use' -r
complete -c ekas -n "__fish_ekas_using_subcommand completions" -l kube-timeout -d 'A Kubernetes API call fails when the server sends nothing for this long (watches wait longer)' -r
complete -c ekas -n "__fish_ekas_using_subcommand completions" -l aws-access-key -d 'AWS access key id (default: the AWS SDK\'s credential chain)' -r
complete -c ekas -n "__fish_ekas_using_subcommand completions" -l aws-secret-key -d 'AWS secret access key' -r
complete -c ekas -n "__fish_ekas_using_subcommand completions" -l aws-profile -d 'AWS profile from the shared config files' -r
complete -c ekas -n "__fish_ekas_using_subcommand completions" -l aws-timeout -d 'Longest an AWS call may take, all its attempts and their backoff included' -r
complete -c ekas -n "__fish_ekas_using_subcommand completions" -l aws-attempt-timeout -d 'Longest one attempt of an AWS call may take before it is retried' -r
complete -c ekas -n "__fish_ekas_using_subcommand completions" -l aws-max-attempts -d 'Attempts per AWS call, with the SDK\'s adaptive retry on throttling and 5xx' -r
complete -c ekas -n "__fish_ekas_using_subcommand completions" -s o -l output -d 'Output format: tables of what an operator scans, `wide` tables with every detail, or one JSON document (as kubectl\'s -o)' -r -f -a "table\t''
wide\t''
json\t''"
complete -c ekas -n "__fish_ekas_using_subcommand completions" -l log-format -d 'Log lines as text or as JSON objects' -r -f -a "text\t''
json\t''"
complete -c ekas -n "__fish_ekas_using_subcommand completions" -l use-aws-iam-role -d 'Accepted for the original tool\'s setups; does nothing: without keys, the AWS SDK\'s default credential chain (instance role, IRSA, …) is used anyway'
complete -c ekas -n "__fish_ekas_using_subcommand completions" -l dry-run -d 'Log what would be changed, and change nothing'
complete -c ekas -n "__fish_ekas_using_subcommand completions" -s v -l verbose -d 'More log detail on standard error (-v info, -vv debug, -vvv trace)'
complete -c ekas -n "__fish_ekas_using_subcommand completions" -s h -l help -d 'Print help'
complete -c ekas -n "__fish_ekas_using_subcommand completions" -s V -l version -d 'Print version'
