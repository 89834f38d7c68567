# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_ekas_global_optspecs
    string join \n cluster-name= regions= kubeconfig= context= namespace= snapshot= aws-access-key= aws-secret-key= aws-profile= over-provision= scale-up-backoff= scale-up-backoff-max= max-node-provision-time= kube-reserved-cpu= kube-reserved-memory= max-pods= idle-threshold= type-idle-threshold= instance-init-time= type-idle-count= dead-threshold= launch-grace= max-concurrent-drains= drain-grace-period= max-scale-in-fraction= drain-utilization-below= lease-namespace= lease-name= lease-duration= sleep= slack-hook= dry-run output= log-format= v/verbose h/help V/version
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
complete -c ekas -n "__fish_ekas_needs_command" -l namespace -d 'Read pods and PodDisruptionBudgets of this namespace only (default: all namespaces)' -r
complete -c ekas -n "__fish_ekas_needs_command" -l snapshot -d 'Read the cluster from a snapshot file instead of the live APIs' -r -F
complete -c ekas -n "__fish_ekas_needs_command" -l aws-access-key -d 'AWS access key id (default: the AWS SDK\'s credential chain)' -r
complete -c ekas -n "__fish_ekas_needs_command" -l aws-secret-key -d 'AWS secret access key' -r
complete -c ekas -n "__fish_ekas_needs_command" -l aws-profile -d 'AWS profile from the shared config files' -r
complete -c ekas -n "__fish_ekas_needs_command" -l over-provision -d 'Spare nodes to add to every group that scales up' -r
complete -c ekas -n "__fish_ekas_needs_command" -l scale-up-backoff -d 'First wait after a group fails to launch; doubles per further failure [seconds or 5m, 1h]' -r
complete -c ekas -n "__fish_ekas_needs_command" -l scale-up-backoff-max -d 'Longest wait after launch failures, and how far back failures count' -r
complete -c ekas -n "__fish_ekas_needs_command" -l max-node-provision-time -d 'A launch still in progress after this long counts as failed, putting its group in backoff' -r
complete -c ekas -n "__fish_ekas_needs_command" -l kube-reserved-cpu -d 'CPU the kubelet and system reserve on a new node: a quantity, or `auto` for the EKS AMI\'s sliding scale' -r
complete -c ekas -n "__fish_ekas_needs_command" -l kube-reserved-memory -d 'Memory reserved on a new node: a quantity, or `auto` for 255Mi + 11Mi per pod + 100Mi eviction + 3.5% for the kernel' -r
complete -c ekas -n "__fish_ekas_needs_command" -l max-pods -d 'Pods a new node accepts (the kubelet\'s --max-pods)' -r
complete -c ekas -n "__fish_ekas_needs_command" -l idle-threshold -d 'How long a node must be idle before ekas cordons and then removes it [seconds or 55m]' -r
complete -c ekas -n "__fish_ekas_needs_command" -l type-idle-threshold -d 'How long a few idle nodes of each instance type are kept as spares' -r
complete -c ekas -n "__fish_ekas_needs_command" -l instance-init-time -d 'How long an instance may take to join the cluster before it is replaced' -r
complete -c ekas -n "__fish_ekas_needs_command" -l type-idle-count -d 'Idle spares kept per group for --type-idle-threshold' -r
complete -c ekas -n "__fish_ekas_needs_command" -l dead-threshold -d 'A node NotReady this long is dead: its Node is deleted and its instance terminated' -r
complete -c ekas -n "__fish_ekas_needs_command" -l launch-grace -d 'Nodes younger than this are left alone to receive their first pods' -r
complete -c ekas -n "__fish_ekas_needs_command" -l max-concurrent-drains -d 'Drains under way at once, across the cluster' -r
complete -c ekas -n "__fish_ekas_needs_command" -l drain-grace-period -d 'Pods that started less than this ago are not evicted by scale-in drains' -r
complete -c ekas -n "__fish_ekas_needs_command" -l max-scale-in-fraction -d 'Largest fraction of the cluster\'s instances removed in one pass' -r
complete -c ekas -n "__fish_ekas_needs_command" -l drain-utilization-below -d 'Drain nodes whose utilisation is below this fraction (0 disables)' -r
complete -c ekas -n "__fish_ekas_needs_command" -l lease-namespace -d 'Namespace of the Lease that keeps two ekas processes from acting at once' -r
complete -c ekas -n "__fish_ekas_needs_command" -l lease-name -d 'Name of that Lease' -r
complete -c ekas -n "__fish_ekas_needs_command" -l lease-duration -d 'Seconds a holder keeps the Lease without renewing it' -r
complete -c ekas -n "__fish_ekas_needs_command" -l sleep -d 'Seconds between passes of `ekas run`' -r
complete -c ekas -n "__fish_ekas_needs_command" -l slack-hook -d 'Slack incoming-webhook URL for notifications' -r
complete -c ekas -n "__fish_ekas_needs_command" -l output -d 'Output format' -r -f -a "table\t''
json\t''"
complete -c ekas -n "__fish_ekas_needs_command" -l log-format -d 'Log lines as text or as JSON objects' -r -f -a "text\t''
json\t''"
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
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l cluster-name -d 'Name of the cluster whose node groups ekas manages (matched against the groups\' tags)' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l regions -d 'AWS regions to manage, comma-separated, in order of preference' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l kubeconfig -d 'Kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or the in-cluster service account)' -r -F
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l context -d 'Kubeconfig context to use' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l namespace -d 'Read pods and PodDisruptionBudgets of this namespace only (default: all namespaces)' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l snapshot -d 'Read the cluster from a snapshot file instead of the live APIs' -r -F
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l aws-access-key -d 'AWS access key id (default: the AWS SDK\'s credential chain)' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l aws-secret-key -d 'AWS secret access key' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l aws-profile -d 'AWS profile from the shared config files' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l over-provision -d 'Spare nodes to add to every group that scales up' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l scale-up-backoff -d 'First wait after a group fails to launch; doubles per further failure [seconds or 5m, 1h]' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l scale-up-backoff-max -d 'Longest wait after launch failures, and how far back failures count' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l max-node-provision-time -d 'A launch still in progress after this long counts as failed, putting its group in backoff' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l kube-reserved-cpu -d 'CPU the kubelet and system reserve on a new node: a quantity, or `auto` for the EKS AMI\'s sliding scale' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l kube-reserved-memory -d 'Memory reserved on a new node: a quantity, or `auto` for 255Mi + 11Mi per pod + 100Mi eviction + 3.5% for the kernel' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l max-pods -d 'Pods a new node accepts (the kubelet\'s --max-pods)' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l idle-threshold -d 'How long a node must be idle before ekas cordons and then removes it [seconds or 55m]' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l type-idle-threshold -d 'How long a few idle nodes of each instance type are kept as spares' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l instance-init-time -d 'How long an instance may take to join the cluster before it is replaced' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l type-idle-count -d 'Idle spares kept per group for --type-idle-threshold' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l dead-threshold -d 'A node NotReady this long is dead: its Node is deleted and its instance terminated' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l launch-grace -d 'Nodes younger than this are left alone to receive their first pods' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l max-concurrent-drains -d 'Drains under way at once, across the cluster' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l drain-grace-period -d 'Pods that started less than this ago are not evicted by scale-in drains' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l max-scale-in-fraction -d 'Largest fraction of the cluster\'s instances removed in one pass' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l drain-utilization-below -d 'Drain nodes whose utilisation is below this fraction (0 disables)' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l lease-namespace -d 'Namespace of the Lease that keeps two ekas processes from acting at once' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l lease-name -d 'Name of that Lease' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l lease-duration -d 'Seconds a holder keeps the Lease without renewing it' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l sleep -d 'Seconds between passes of `ekas run`' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l slack-hook -d 'Slack incoming-webhook URL for notifications' -r
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l output -d 'Output format' -r -f -a "table\t''
json\t''"
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l log-format -d 'Log lines as text or as JSON objects' -r -f -a "text\t''
json\t''"
complete -c ekas -n "__fish_ekas_using_subcommand plan" -l dry-run -d 'Log what would be changed, and change nothing'
complete -c ekas -n "__fish_ekas_using_subcommand plan" -s v -l verbose -d 'More log detail on standard error (-v info, -vv debug, -vvv trace)'
complete -c ekas -n "__fish_ekas_using_subcommand plan" -s h -l help -d 'Print help'
complete -c ekas -n "__fish_ekas_using_subcommand plan" -s V -l version -d 'Print version'
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l cluster-name -d 'Name of the cluster whose node groups ekas manages (matched against the groups\' tags)' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l regions -d 'AWS regions to manage, comma-separated, in order of preference' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l kubeconfig -d 'Kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or the in-cluster service account)' -r -F
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l context -d 'Kubeconfig context to use' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l namespace -d 'Read pods and PodDisruptionBudgets of this namespace only (default: all namespaces)' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l snapshot -d 'Read the cluster from a snapshot file instead of the live APIs' -r -F
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l aws-access-key -d 'AWS access key id (default: the AWS SDK\'s credential chain)' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l aws-secret-key -d 'AWS secret access key' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l aws-profile -d 'AWS profile from the shared config files' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l over-provision -d 'Spare nodes to add to every group that scales up' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l scale-up-backoff -d 'First wait after a group fails to launch; doubles per further failure [seconds or 5m, 1h]' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l scale-up-backoff-max -d 'Longest wait after launch failures, and how far back failures count' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l max-node-provision-time -d 'A launch still in progress after this long counts as failed, putting its group in backoff' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l kube-reserved-cpu -d 'CPU the kubelet and system reserve on a new node: a quantity, or `auto` for the EKS AMI\'s sliding scale' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l kube-reserved-memory -d 'Memory reserved on a new node: a quantity, or `auto` for 255Mi + 11Mi per pod + 100Mi eviction + 3.5% for the kernel' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l max-pods -d 'Pods a new node accepts (the kubelet\'s --max-pods)' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l idle-threshold -d 'How long a node must be idle before ekas cordons and then removes it [seconds or 55m]' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l type-idle-threshold -d 'How long a few idle nodes of each instance type are kept as spares' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l instance-init-time -d 'How long an instance may take to join the cluster before it is replaced' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l type-idle-count -d 'Idle spares kept per group for --type-idle-threshold' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l dead-threshold -d 'A node NotReady this long is dead: its Node is deleted and its instance terminated' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l launch-grace -d 'Nodes younger than this are left alone to receive their first pods' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l max-concurrent-drains -d 'Drains under way at once, across the cluster' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l drain-grace-period -d 'Pods that started less than this ago are not evicted by scale-in drains' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l max-scale-in-fraction -d 'Largest fraction of the cluster\'s instances removed in one pass' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l drain-utilization-below -d 'Drain nodes whose utilisation is below this fraction (0 disables)' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l lease-namespace -d 'Namespace of the Lease that keeps two ekas processes from acting at once' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l lease-name -d 'Name of that Lease' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l lease-duration -d 'Seconds a holder keeps the Lease without renewing it' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l sleep -d 'Seconds between passes of `ekas run`' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l slack-hook -d 'Slack incoming-webhook URL for notifications' -r
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l output -d 'Output format' -r -f -a "table\t''
json\t''"
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l log-format -d 'Log lines as text or as JSON objects' -r -f -a "text\t''
json\t''"
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -l dry-run -d 'Log what would be changed, and change nothing'
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -s v -l verbose -d 'More log detail on standard error (-v info, -vv debug, -vvv trace)'
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -s h -l help -d 'Print help'
complete -c ekas -n "__fish_ekas_using_subcommand scale-up" -s V -l version -d 'Print version'
complete -c ekas -n "__fish_ekas_using_subcommand drain" -l timeout -d 'Give up when pods remain after this long; the node stays cordoned [seconds or 15m]' -r
complete -c ekas -n "__fish_ekas_using_subcommand drain" -l grace-period -d 'Pods that started less than this ago are not evicted yet: the drain waits for them' -r
complete -c ekas -n "__fish_ekas_using_subcommand drain" -l termination-grace-period -d 'Seconds each evicted pod gets to stop (default: the pod\'s own terminationGracePeriodSeconds)' -r
complete -c ekas -n "__fish_ekas_using_subcommand drain" -l cluster-name -d 'Name of the cluster whose node groups ekas manages (matched against the groups\' tags)' -r
complete -c ekas -n "__fish_ekas_using_subcommand drain" -l regions -d 'AWS regions to manage, comma-separated, in order of preference' -r
complete -c ekas -n "__fish_ekas_using_subcommand drain" -l kubeconfig -d 'Kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or the in-cluster service account)' -r -F
complete -c ekas -n "__fish_ekas_using_subcommand drain" -l context -d 'Kubeconfig context to use' -r
complete -c ekas -n "__fish_ekas_using_subcommand drain" -l namespace -d 'Read pods and PodDisruptionBudgets of this namespace only (default: all namespaces)' -r
complete -c ekas -n "__fish_ekas_using_subcommand drain" -l snapshot -d 'Read the cluster from a snapshot file instead of the live APIs' -r -F
complete -c ekas -n "__fish_ekas_using_subcommand drain" -l aws-access-key -d 'AWS access key id (default: the AWS SDK\'s credential chain)' -r
complete -c ekas -n "__fish_ekas_using_subcommand drain" -l aws-secret-key -d 'AWS secret access key' -r
complete -c ekas -n "__fish_ekas_using_subcommand drain" -l aws-profile -d 'AWS profile from the shared config files' -r
complete -c ekas -n "__fish_ekas_using_subcommand drain" -l over-provision -d 'Spare nodes to add to every group that scales up' -r
complete -c ekas -n "__fish_ekas_using_subcommand drain" -l scale-up-backoff -d 'First wait after a group fails to launch; doubles per further failure [seconds or 5m, 1h]' -r
complete -c ekas -n "__fish_ekas_using_subcommand drain" -l scale-up-backoff-max -d 'Longest wait after launch failures, and how far back failures count' -r
complete -c ekas -n "__fish_ekas_using_subcommand drain" -l max-node-provision-time -d 'A launch still in progress after this long counts as failed, putting its group in backoff' -r
complete -c ekas -n "__fish_ekas_using_subcommand drain" -l kube-reserved-cpu -d 'CPU the kubelet and system reserve on a new node: a quantity, or `auto` for the EKS AMI\'s sliding scale' -r
complete -c ekas -n "__fish_ekas_using_subcommand drain" -l kube-reserved-memory -d 'Memory reserved on a new node: a quantity, or `auto` for 255Mi + 11Mi per pod + 100Mi eviction + 3.5% for the kernel' -r
complete -c ekas -n "__fish_ekas_using_subcommand drain" -l max-pods -d 'Pods a new node accepts (the kubelet\'s --max-pods)' -r
complete -c ekas -n "__fish_ekas_using_subcommand drain" -l idle-threshold -d 'How long a node must be idle before ekas cordons and then removes it [seconds or 55m]' -r
complete -c ekas -n "__fish_ekas_using_subcommand drain" -l type-idle-threshold -d 'How long a few idle nodes of each instance type are kept as spares' -r
complete -c ekas -n "__fish_ekas_using_subcommand drain" -l instance-init-time -d 'How long an instance may take to join the cluster before it is replaced' -r
complete -c ekas -n "__fish_ekas_using_subcommand drain" -l type-idle-count -d 'Idle spares kept per group for --type-idle-threshold' -r
complete -c ekas -n "__fish_ekas_using_subcommand drain" -l dead-threshold -d 'A node NotReady this long is dead: its Node is deleted and its instance terminated' -r
complete -c ekas -n "__fish_ekas_using_subcommand drain" -l launch-grace -d 'Nodes younger than this are left alone to receive their first pods' -r
complete -c ekas -n "__fish_ekas_using_subcommand drain" -l max-concurrent-drains -d 'Drains under way at once, across the cluster' -r
complete -c ekas -n "__fish_ekas_using_subcommand drain" -l drain-grace-period -d 'Pods that started less than this ago are not evicted by scale-in drains' -r
complete -c ekas -n "__fish_ekas_using_subcommand drain" -l max-scale-in-fraction -d 'Largest fraction of the cluster\'s instances removed in one pass' -r
complete -c ekas -n "__fish_ekas_using_subcommand drain" -l drain-utilization-below -d 'Drain nodes whose utilisation is below this fraction (0 disables)' -r
complete -c ekas -n "__fish_ekas_using_subcommand drain" -l lease-namespace -d 'Namespace of the Lease that keeps two ekas processes from acting at once' -r
complete -c ekas -n "__fish_ekas_using_subcommand drain" -l lease-name -d 'Name of that Lease' -r
complete -c ekas -n "__fish_ekas_using_subcommand drain" -l lease-duration -d 'Seconds a holder keeps the Lease without renewing it' -r
complete -c ekas -n "__fish_ekas_using_subcommand drain" -l sleep -d 'Seconds between passes of `ekas run`' -r
complete -c ekas -n "__fish_ekas_using_subcommand drain" -l slack-hook -d 'Slack incoming-webhook URL for notifications' -r
complete -c ekas -n "__fish_ekas_using_subcommand drain" -l output -d 'Output format' -r -f -a "table\t''
json\t''"
complete -c ekas -n "__fish_ekas_using_subcommand drain" -l log-format -d 'Log lines as text or as JSON objects' -r -f -a "text\t''
json\t''"
complete -c ekas -n "__fish_ekas_using_subcommand drain" -l force -d 'Also evict pods that no controller owns; they will not be recreated'
complete -c ekas -n "__fish_ekas_using_subcommand drain" -l delete-emptydir-data -d 'Also evict pods with emptyDir volumes, whose data is lost'
complete -c ekas -n "__fish_ekas_using_subcommand drain" -l dry-run -d 'Log what would be changed, and change nothing'
complete -c ekas -n "__fish_ekas_using_subcommand drain" -s v -l verbose -d 'More log detail on standard error (-v info, -vv debug, -vvv trace)'
complete -c ekas -n "__fish_ekas_using_subcommand drain" -s h -l help -d 'Print help'
complete -c ekas -n "__fish_ekas_using_subcommand drain" -s V -l version -d 'Print version'
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l cluster-name -d 'Name of the cluster whose node groups ekas manages (matched against the groups\' tags)' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l regions -d 'AWS regions to manage, comma-separated, in order of preference' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l kubeconfig -d 'Kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or the in-cluster service account)' -r -F
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l context -d 'Kubeconfig context to use' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l namespace -d 'Read pods and PodDisruptionBudgets of this namespace only (default: all namespaces)' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l snapshot -d 'Read the cluster from a snapshot file instead of the live APIs' -r -F
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l aws-access-key -d 'AWS access key id (default: the AWS SDK\'s credential chain)' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l aws-secret-key -d 'AWS secret access key' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l aws-profile -d 'AWS profile from the shared config files' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l over-provision -d 'Spare nodes to add to every group that scales up' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l scale-up-backoff -d 'First wait after a group fails to launch; doubles per further failure [seconds or 5m, 1h]' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l scale-up-backoff-max -d 'Longest wait after launch failures, and how far back failures count' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l max-node-provision-time -d 'A launch still in progress after this long counts as failed, putting its group in backoff' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l kube-reserved-cpu -d 'CPU the kubelet and system reserve on a new node: a quantity, or `auto` for the EKS AMI\'s sliding scale' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l kube-reserved-memory -d 'Memory reserved on a new node: a quantity, or `auto` for 255Mi + 11Mi per pod + 100Mi eviction + 3.5% for the kernel' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l max-pods -d 'Pods a new node accepts (the kubelet\'s --max-pods)' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l idle-threshold -d 'How long a node must be idle before ekas cordons and then removes it [seconds or 55m]' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l type-idle-threshold -d 'How long a few idle nodes of each instance type are kept as spares' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l instance-init-time -d 'How long an instance may take to join the cluster before it is replaced' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l type-idle-count -d 'Idle spares kept per group for --type-idle-threshold' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l dead-threshold -d 'A node NotReady this long is dead: its Node is deleted and its instance terminated' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l launch-grace -d 'Nodes younger than this are left alone to receive their first pods' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l max-concurrent-drains -d 'Drains under way at once, across the cluster' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l drain-grace-period -d 'Pods that started less than this ago are not evicted by scale-in drains' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l max-scale-in-fraction -d 'Largest fraction of the cluster\'s instances removed in one pass' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l drain-utilization-below -d 'Drain nodes whose utilisation is below this fraction (0 disables)' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l lease-namespace -d 'Namespace of the Lease that keeps two ekas processes from acting at once' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l lease-name -d 'Name of that Lease' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l lease-duration -d 'Seconds a holder keeps the Lease without renewing it' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l sleep -d 'Seconds between passes of `ekas run`' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l slack-hook -d 'Slack incoming-webhook URL for notifications' -r
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l output -d 'Output format' -r -f -a "table\t''
json\t''"
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l log-format -d 'Log lines as text or as JSON objects' -r -f -a "text\t''
json\t''"
complete -c ekas -n "__fish_ekas_using_subcommand reap" -l dry-run -d 'Log what would be changed, and change nothing'
complete -c ekas -n "__fish_ekas_using_subcommand reap" -s v -l verbose -d 'More log detail on standard error (-v info, -vv debug, -vvv trace)'
complete -c ekas -n "__fish_ekas_using_subcommand reap" -s h -l help -d 'Print help'
complete -c ekas -n "__fish_ekas_using_subcommand reap" -s V -l version -d 'Print version'
complete -c ekas -n "__fish_ekas_using_subcommand run" -l leader-elect -d 'Act only while holding the Lease (default: true inside a cluster, false outside)' -r -f -a "true\t''
false\t''"
complete -c ekas -n "__fish_ekas_using_subcommand run" -l metrics-address -d 'Where to serve /metrics and /healthz' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l cluster-name -d 'Name of the cluster whose node groups ekas manages (matched against the groups\' tags)' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l regions -d 'AWS regions to manage, comma-separated, in order of preference' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l kubeconfig -d 'Kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or the in-cluster service account)' -r -F
complete -c ekas -n "__fish_ekas_using_subcommand run" -l context -d 'Kubeconfig context to use' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l namespace -d 'Read pods and PodDisruptionBudgets of this namespace only (default: all namespaces)' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l snapshot -d 'Read the cluster from a snapshot file instead of the live APIs' -r -F
complete -c ekas -n "__fish_ekas_using_subcommand run" -l aws-access-key -d 'AWS access key id (default: the AWS SDK\'s credential chain)' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l aws-secret-key -d 'AWS secret access key' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l aws-profile -d 'AWS profile from the shared config files' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l over-provision -d 'Spare nodes to add to every group that scales up' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l scale-up-backoff -d 'First wait after a group fails to launch; doubles per further failure [seconds or 5m, 1h]' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l scale-up-backoff-max -d 'Longest wait after launch failures, and how far back failures count' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l max-node-provision-time -d 'A launch still in progress after this long counts as failed, putting its group in backoff' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l kube-reserved-cpu -d 'CPU the kubelet and system reserve on a new node: a quantity, or `auto` for the EKS AMI\'s sliding scale' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l kube-reserved-memory -d 'Memory reserved on a new node: a quantity, or `auto` for 255Mi + 11Mi per pod + 100Mi eviction + 3.5% for the kernel' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l max-pods -d 'Pods a new node accepts (the kubelet\'s --max-pods)' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l idle-threshold -d 'How long a node must be idle before ekas cordons and then removes it [seconds or 55m]' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l type-idle-threshold -d 'How long a few idle nodes of each instance type are kept as spares' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l instance-init-time -d 'How long an instance may take to join the cluster before it is replaced' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l type-idle-count -d 'Idle spares kept per group for --type-idle-threshold' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l dead-threshold -d 'A node NotReady this long is dead: its Node is deleted and its instance terminated' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l launch-grace -d 'Nodes younger than this are left alone to receive their first pods' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l max-concurrent-drains -d 'Drains under way at once, across the cluster' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l drain-grace-period -d 'Pods that started less than this ago are not evicted by scale-in drains' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l max-scale-in-fraction -d 'Largest fraction of the cluster\'s instances removed in one pass' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l drain-utilization-below -d 'Drain nodes whose utilisation is below this fraction (0 disables)' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l lease-namespace -d 'Namespace of the Lease that keeps two ekas processes from acting at once' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l lease-name -d 'Name of that Lease' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l lease-duration -d 'Seconds a holder keeps the Lease without renewing it' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l sleep -d 'Seconds between passes of `ekas run`' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l slack-hook -d 'Slack incoming-webhook URL for notifications' -r
complete -c ekas -n "__fish_ekas_using_subcommand run" -l output -d 'Output format' -r -f -a "table\t''
json\t''"
complete -c ekas -n "__fish_ekas_using_subcommand run" -l log-format -d 'Log lines as text or as JSON objects' -r -f -a "text\t''
json\t''"
complete -c ekas -n "__fish_ekas_using_subcommand run" -l no-scale -d 'Never scale up: only maintain existing nodes'
complete -c ekas -n "__fish_ekas_using_subcommand run" -l no-maintenance -d 'Never scale in or touch existing nodes: only scale up'
complete -c ekas -n "__fish_ekas_using_subcommand run" -l dry-run -d 'Log what would be changed, and change nothing'
complete -c ekas -n "__fish_ekas_using_subcommand run" -s v -l verbose -d 'More log detail on standard error (-v info, -vv debug, -vvv trace)'
complete -c ekas -n "__fish_ekas_using_subcommand run" -s h -l help -d 'Print help'
complete -c ekas -n "__fish_ekas_using_subcommand run" -s V -l version -d 'Print version'
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l out -d 'Where to write the snapshot (standard output when absent)' -r -F
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l pods -d 'Pods for the Kubernetes half: `kubectl get pods -A -o json` output' -r -F
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l nodes -d 'Nodes for the Kubernetes half: `kubectl get nodes -o json` output' -r -F
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l daemonsets -d 'DaemonSets: `kubectl get ds -A -o json` output' -r -F
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l pdbs -d 'PodDisruptionBudgets: `kubectl get pdb -A -o json` output' -r -F
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l cluster-name -d 'Name of the cluster whose node groups ekas manages (matched against the groups\' tags)' -r
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l regions -d 'AWS regions to manage, comma-separated, in order of preference' -r
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l kubeconfig -d 'Kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or the in-cluster service account)' -r -F
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l context -d 'Kubeconfig context to use' -r
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l namespace -d 'Read pods and PodDisruptionBudgets of this namespace only (default: all namespaces)' -r
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l snapshot -d 'Read the cluster from a snapshot file instead of the live APIs' -r -F
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l aws-access-key -d 'AWS access key id (default: the AWS SDK\'s credential chain)' -r
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l aws-secret-key -d 'AWS secret access key' -r
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l aws-profile -d 'AWS profile from the shared config files' -r
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l over-provision -d 'Spare nodes to add to every group that scales up' -r
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l scale-up-backoff -d 'First wait after a group fails to launch; doubles per further failure [seconds or 5m, 1h]' -r
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l scale-up-backoff-max -d 'Longest wait after launch failures, and how far back failures count' -r
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l max-node-provision-time -d 'A launch still in progress after this long counts as failed, putting its group in backoff' -r
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l kube-reserved-cpu -d 'CPU the kubelet and system reserve on a new node: a quantity, or `auto` for the EKS AMI\'s sliding scale' -r
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l kube-reserved-memory -d 'Memory reserved on a new node: a quantity, or `auto` for 255Mi + 11Mi per pod + 100Mi eviction + 3.5% for the kernel' -r
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l max-pods -d 'Pods a new node accepts (the kubelet\'s --max-pods)' -r
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l idle-threshold -d 'How long a node must be idle before ekas cordons and then removes it [seconds or 55m]' -r
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l type-idle-threshold -d 'How long a few idle nodes of each instance type are kept as spares' -r
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l instance-init-time -d 'How long an instance may take to join the cluster before it is replaced' -r
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l type-idle-count -d 'Idle spares kept per group for --type-idle-threshold' -r
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l dead-threshold -d 'A node NotReady this long is dead: its Node is deleted and its instance terminated' -r
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l launch-grace -d 'Nodes younger than this are left alone to receive their first pods' -r
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l max-concurrent-drains -d 'Drains under way at once, across the cluster' -r
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l drain-grace-period -d 'Pods that started less than this ago are not evicted by scale-in drains' -r
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l max-scale-in-fraction -d 'Largest fraction of the cluster\'s instances removed in one pass' -r
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l drain-utilization-below -d 'Drain nodes whose utilisation is below this fraction (0 disables)' -r
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l lease-namespace -d 'Namespace of the Lease that keeps two ekas processes from acting at once' -r
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l lease-name -d 'Name of that Lease' -r
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l lease-duration -d 'Seconds a holder keeps the Lease without renewing it' -r
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l sleep -d 'Seconds between passes of `ekas run`' -r
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l slack-hook -d 'Slack incoming-webhook URL for notifications' -r
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l output -d 'Output format' -r -f -a "table\t''
json\t''"
complete -c ekas -n "__fish_ekas_using_subcommand snapshot" -l log-format -d 'Log lines as text or as JSON objects' -r -f -a "text\t''
json\t''"
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
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l batch-window -d 'Quiet time after new pending pods before a pass starts, as in `ekas run`' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l batch-max -d 'A burst of new pods that keeps arriving still gets its pass after this long, as in `ekas run`' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l cluster-name -d 'Name of the cluster whose node groups ekas manages (matched against the groups\' tags)' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l regions -d 'AWS regions to manage, comma-separated, in order of preference' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l kubeconfig -d 'Kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or the in-cluster service account)' -r -F
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l context -d 'Kubeconfig context to use' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l namespace -d 'Read pods and PodDisruptionBudgets of this namespace only (default: all namespaces)' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l snapshot -d 'Read the cluster from a snapshot file instead of the live APIs' -r -F
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l aws-access-key -d 'AWS access key id (default: the AWS SDK\'s credential chain)' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l aws-secret-key -d 'AWS secret access key' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l aws-profile -d 'AWS profile from the shared config files' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l over-provision -d 'Spare nodes to add to every group that scales up' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l scale-up-backoff -d 'First wait after a group fails to launch; doubles per further failure [seconds or 5m, 1h]' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l scale-up-backoff-max -d 'Longest wait after launch failures, and how far back failures count' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l max-node-provision-time -d 'A launch still in progress after this long counts as failed, putting its group in backoff' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l kube-reserved-cpu -d 'CPU the kubelet and system reserve on a new node: a quantity, or `auto` for the EKS AMI\'s sliding scale' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l kube-reserved-memory -d 'Memory reserved on a new node: a quantity, or `auto` for 255Mi + 11Mi per pod + 100Mi eviction + 3.5% for the kernel' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l max-pods -d 'Pods a new node accepts (the kubelet\'s --max-pods)' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l idle-threshold -d 'How long a node must be idle before ekas cordons and then removes it [seconds or 55m]' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l type-idle-threshold -d 'How long a few idle nodes of each instance type are kept as spares' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l instance-init-time -d 'How long an instance may take to join the cluster before it is replaced' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l type-idle-count -d 'Idle spares kept per group for --type-idle-threshold' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l dead-threshold -d 'A node NotReady this long is dead: its Node is deleted and its instance terminated' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l launch-grace -d 'Nodes younger than this are left alone to receive their first pods' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l max-concurrent-drains -d 'Drains under way at once, across the cluster' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l drain-grace-period -d 'Pods that started less than this ago are not evicted by scale-in drains' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l max-scale-in-fraction -d 'Largest fraction of the cluster\'s instances removed in one pass' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l drain-utilization-below -d 'Drain nodes whose utilisation is below this fraction (0 disables)' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l lease-namespace -d 'Namespace of the Lease that keeps two ekas processes from acting at once' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l lease-name -d 'Name of that Lease' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l lease-duration -d 'Seconds a holder keeps the Lease without renewing it' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l sleep -d 'Seconds between passes of `ekas run`' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l slack-hook -d 'Slack incoming-webhook URL for notifications' -r
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l output -d 'Output format' -r -f -a "table\t''
json\t''"
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l log-format -d 'Log lines as text or as JSON objects' -r -f -a "text\t''
json\t''"
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -l dry-run -d 'Log what would be changed, and change nothing'
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -s v -l verbose -d 'More log detail on standard error (-v info, -vv debug, -vvv trace)'
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ekas -n "__fish_ekas_using_subcommand simulate" -s V -l version -d 'Print version'
complete -c ekas -n "__fish_ekas_using_subcommand completions" -l cluster-name -d 'Name of the cluster whose node groups ekas manages (matched against the groups\' tags)' -r
complete -c ekas -n "__fish_ekas_using_subcommand completions" -l regions -d 'AWS regions to manage, comma-separated, in order of preference' -r
complete -c ekas -n "__fish_ekas_using_subcommand completions" -l kubeconfig -d 'Kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or the in-cluster service account)' -r -F
complete -c ekas -n "__fish_ekas_using_subcommand completions" -l context -d 'Kubeconfig context to use' -r
complete -c ekas -n "__fish_ekas_using_subcommand completions" -l namespace -d 'Read pods and PodDisruptionBudgets of this namespace only (default: all namespaces)' -r
complete -c ekas -n "__fish_ekas_using_subcommand completions" -l snapshot -d 'Read the cluster from a snapshot file instead of the live APIs' -r -F
complete -c ekas -n "__fish_ekas_using_subcommand completions" -l aws-access-key -d 'AWS access key id (default: the AWS SDK\'s credential chain)' -r
complete -c ekas -n "__fish_ekas_using_subcommand completions" -l aws-secret-key -d 'AWS secret access key' -r
complete -c ekas -n "__fish_ekas_using_subcommand completions" -l aws-profile -d 'AWS profile from the shared config files' -r
complete -c ekas -n "__fish_ekas_using_subcommand completions" -l over-provision -d 'Spare nodes to add to every group that scales up' -r
complete -c ekas -n "__fish_ekas_using_subcommand completions" -l scale-up-backoff -d 'First wait after a group fails to launch; doubles per further failure [seconds or 5m, 1h]' -r
complete -c ekas -n "__fish_ekas_using_subcommand completions" -l scale-up-backoff-max -d 'Longest wait after launch failures, and how far back failures count' -r
complete -c ekas -n "__fish_ekas_using_subcommand completions" -l max-node-provision-time -d 'A launch still in progress after this long counts as failed, putting its group in backoff' -r
complete -c ekas -n "__fish_ekas_using_subcommand completions" -l kube-reserved-cpu -d 'CPU the kubelet and system reserve on a new node: a quantity, or `auto` for the EKS AMI\'s sliding scale' -r
complete -c ekas -n "__fish_ekas_using_subcommand completions" -l kube-reserved-memory -d 'Memory reserved on a new node: a quantity, or `auto` for 255Mi + 11Mi per pod + 100Mi eviction + 3.5% for the kernel' -r
complete -c ekas -n "__fish_ekas_using_subcommand completions" -l max-pods -d 'Pods a new node accepts (the kubelet\'s --max-pods)' -r
complete -c ekas -n "__fish_ekas_using_subcommand completions" -l idle-threshold -d 'How long a node must be idle before ekas cordons and then removes it [seconds or 55m]' -r
complete -c ekas -n "__fish_ekas_using_subcommand completions" -l type-idle-threshold -d 'How long a few idle nodes of each instance type are kept as spares' -r
complete -c ekas -n "__fish_ekas_using_subcommand completions" -l instance-init-time -d 'How long an instance may take to join the cluster before it is replaced' -r
complete -c ekas -n "__fish_ekas_using_subcommand completions" -l type-idle-count -d 'Idle spares kept per group for --type-idle-threshold' -r
complete -c ekas -n "__fish_ekas_using_subcommand completions" -l dead-threshold -d 'A node NotReady this long is dead: its Node is deleted and its instance terminated' -r
complete -c ekas -n "__fish_ekas_using_subcommand completions" -l launch-grace -d 'Nodes younger than this are left alone to receive their first pods' -r
complete -c ekas -n "__fish_ekas_using_subcommand completions" -l max-concurrent-drains -d 'Drains under way at once, across the cluster' -r
complete -c ekas -n "__fish_ekas_using_subcommand completions" -l drain-grace-period -d 'Pods that started less than this ago are not evicted by scale-in drains' -r
complete -c ekas -n "__fish_ekas_using_subcommand completions" -l max-scale-in-fraction -d 'Largest fraction of the cluster\'s instances removed in one pass' -r
complete -c ekas -n "__fish_ekas_using_subcommand completions" -l drain-utilization-below -d 'Drain nodes whose utilisation is below this fraction (0 disables)' -r
complete -c ekas -n "__fish_ekas_using_subcommand completions" -l lease-namespace -d 'Namespace of the Lease that keeps two ekas processes from acting at once' -r
complete -c ekas -n "__fish_ekas_using_subcommand completions" -l lease-name -d 'Name of that Lease' -r
complete -c ekas -n "__fish_ekas_using_subcommand completions" -l lease-duration -d 'Seconds a holder keeps the Lease without renewing it' -r
complete -c ekas -n "__fish_ekas_using_subcommand completions" -l sleep -d 'Seconds between passes of `ekas run`' -r
complete -c ekas -n "__fish_ekas_using_subcommand completions" -l slack-hook -d 'Slack incoming-webhook URL for notifications' -r
complete -c ekas -n "__fish_ekas_using_subcommand completions" -l output -d 'Output format' -r -f -a "table\t''
json\t''"
complete -c ekas -n "__fish_ekas_using_subcommand completions" -l log-format -d 'Log lines as text or as JSON objects' -r -f -a "text\t''
json\t''"
complete -c ekas -n "__fish_ekas_using_subcommand completions" -l dry-run -d 'Log what would be changed, and change nothing'
complete -c ekas -n "__fish_ekas_using_subcommand completions" -s v -l verbose -d 'More log detail on standard error (-v info, -vv debug, -vvv trace)'
complete -c ekas -n "__fish_ekas_using_subcommand completions" -s h -l help -d 'Print help'
complete -c ekas -n "__fish_ekas_using_subcommand completions" -s V -l version -d 'Print version'
