_ekas() {
    local i cur prev opts cmd
    COMPREPLY=()
    if [[ "${BASH_VERSINFO[0]}" -ge 4 ]]; then
        cur="$2"
    else
        cur="${COMP_WORDS[COMP_CWORD]}"
    fi
    prev="$3"
    cmd=""
    opts=""

    for i in "${COMP_WORDS[@]:0:COMP_CWORD}"
    do
        case "${cmd},${i}" in
            ",$1")
                cmd="ekas"
                ;;
            ekas,completions)
                cmd="ekas__subcmd__completions"
                ;;
            ekas,drain)
                cmd="ekas__subcmd__drain"
                ;;
            ekas,plan)
                cmd="ekas__subcmd__plan"
                ;;
            ekas,reap)
                cmd="ekas__subcmd__reap"
                ;;
            ekas,run)
                cmd="ekas__subcmd__run"
                ;;
            ekas,scale-up)
                cmd="ekas__subcmd__scale__subcmd__up"
                ;;
            ekas,simulate)
                cmd="ekas__subcmd__simulate"
                ;;
            ekas,snapshot)
                cmd="ekas__subcmd__snapshot"
                ;;
            *)
                ;;
        esac
    done

    case "${cmd}" in
        ekas)
            opts="-o -v -h -V --cluster-name --regions --kubeconfig --context --kube-timeout --aws-access-key --aws-secret-key --aws-profile --use-aws-iam-role --aws-timeout --aws-attempt-timeout --aws-max-attempts --dry-run --output --log-format --verbose --help --version plan scale-up drain reap run snapshot simulate completions"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 1 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --cluster-name)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --regions)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --kubeconfig)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --context)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --kube-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --aws-access-key)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --aws-secret-key)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --aws-profile)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --aws-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --aws-attempt-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --aws-max-attempts)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --output)
                    COMPREPLY=($(compgen -W "table wide json" -- "${cur}"))
                    return 0
                    ;;
                -o)
                    COMPREPLY=($(compgen -W "table wide json" -- "${cur}"))
                    return 0
                    ;;
                --log-format)
                    COMPREPLY=($(compgen -W "text json" -- "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ekas__subcmd__completions)
            opts="-o -v -h -V --cluster-name --regions --kubeconfig --context --kube-timeout --aws-access-key --aws-secret-key --aws-profile --use-aws-iam-role --aws-timeout --aws-attempt-timeout --aws-max-attempts --dry-run --output --log-format --verbose --help --version bash elvish fish powershell zsh"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --cluster-name)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --regions)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --kubeconfig)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --context)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --kube-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --aws-access-key)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --aws-secret-key)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --aws-profile)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --aws-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --aws-attempt-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --aws-max-attempts)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --output)
                    COMPREPLY=($(compgen -W "table wide json" -- "${cur}"))
                    return 0
                    ;;
                -o)
                    COMPREPLY=($(compgen -W "table wide json" -- "${cur}"))
                    return 0
                    ;;
                --log-format)
                    COMPREPLY=($(compgen -W "text json" -- "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ekas__subcmd__drain)
            opts="-o -v -h -V --timeout --grace-period --min-pod-age --pod-selector --force --delete-emptydir-data --ignore-daemonsets --disable-eviction --cluster-name --regions --kubeconfig --context --kube-timeout --aws-access-key --aws-secret-key --aws-profile --use-aws-iam-role --aws-timeout --aws-attempt-timeout --aws-max-attempts --dry-run --output --log-format --verbose --help --version"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --grace-period)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --min-pod-age)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --pod-selector)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --cluster-name)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --regions)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --kubeconfig)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --context)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --kube-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --aws-access-key)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --aws-secret-key)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --aws-profile)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --aws-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --aws-attempt-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --aws-max-attempts)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --output)
                    COMPREPLY=($(compgen -W "table wide json" -- "${cur}"))
                    return 0
                    ;;
                -o)
                    COMPREPLY=($(compgen -W "table wide json" -- "${cur}"))
                    return 0
                    ;;
                --log-format)
                    COMPREPLY=($(compgen -W "text json" -- "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ekas__subcmd__plan)
            opts="-o -v -h -V --snapshot --namespace --live-prices --over-provision --scale-up-backoff --scale-up-backoff-max --max-node-provision-time --startup-taint --kube-reserved-cpu --kube-reserved-memory --max-pods --expendable-pods-priority-cutoff --scale-up-only-unschedulable --new-pod-scale-up-delay --no-balance --no-gangs --provisioning-request-booking --expander --avoid-interrupted-groups --price-file --idle-threshold --type-idle-threshold --instance-init-time --type-idle-count --dead-threshold --launch-grace --max-concurrent-drains --min-pod-age --max-scale-in-fraction --scale-in-window --interruption-drain-timeout --rebalance-cordon-ttl --scale-down-utilization-threshold --no-consolidation --drain-utilization-below --drain-running-jobs --respect-scale-in-protection --max-total-unready-percentage --ok-total-unready-count --cluster-name --regions --kubeconfig --context --kube-timeout --aws-access-key --aws-secret-key --aws-profile --use-aws-iam-role --aws-timeout --aws-attempt-timeout --aws-max-attempts --dry-run --output --log-format --verbose --help --version"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --snapshot)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --namespace)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --live-prices)
                    COMPREPLY=($(compgen -W "true false" -- "${cur}"))
                    return 0
                    ;;
                --over-provision)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --scale-up-backoff)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --scale-up-backoff-max)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --max-node-provision-time)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --startup-taint)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --kube-reserved-cpu)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --kube-reserved-memory)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --max-pods)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --expendable-pods-priority-cutoff)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --new-pod-scale-up-delay)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --provisioning-request-booking)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --expander)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --price-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --idle-threshold)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --type-idle-threshold)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --instance-init-time)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --type-idle-count)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --dead-threshold)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --launch-grace)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --max-concurrent-drains)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --min-pod-age)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --max-scale-in-fraction)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --scale-in-window)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --interruption-drain-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --rebalance-cordon-ttl)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --scale-down-utilization-threshold)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --drain-utilization-below)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --max-total-unready-percentage)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --ok-total-unready-count)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --cluster-name)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --regions)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --kubeconfig)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --context)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --kube-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --aws-access-key)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --aws-secret-key)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --aws-profile)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --aws-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --aws-attempt-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --aws-max-attempts)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --output)
                    COMPREPLY=($(compgen -W "table wide json" -- "${cur}"))
                    return 0
                    ;;
                -o)
                    COMPREPLY=($(compgen -W "table wide json" -- "${cur}"))
                    return 0
                    ;;
                --log-format)
                    COMPREPLY=($(compgen -W "text json" -- "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ekas__subcmd__reap)
            opts="-o -v -h -V --namespace --live-prices --over-provision --scale-up-backoff --scale-up-backoff-max --max-node-provision-time --startup-taint --kube-reserved-cpu --kube-reserved-memory --max-pods --expendable-pods-priority-cutoff --scale-up-only-unschedulable --new-pod-scale-up-delay --no-balance --no-gangs --provisioning-request-booking --expander --avoid-interrupted-groups --price-file --idle-threshold --type-idle-threshold --instance-init-time --type-idle-count --dead-threshold --launch-grace --max-concurrent-drains --min-pod-age --max-scale-in-fraction --scale-in-window --interruption-drain-timeout --rebalance-cordon-ttl --scale-down-utilization-threshold --no-consolidation --drain-utilization-below --drain-running-jobs --respect-scale-in-protection --max-total-unready-percentage --ok-total-unready-count --lease-namespace --lease-name --lease-duration --slack-hook --slack-timeout --cluster-name --regions --kubeconfig --context --kube-timeout --aws-access-key --aws-secret-key --aws-profile --use-aws-iam-role --aws-timeout --aws-attempt-timeout --aws-max-attempts --dry-run --output --log-format --verbose --help --version"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --namespace)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --live-prices)
                    COMPREPLY=($(compgen -W "true false" -- "${cur}"))
                    return 0
                    ;;
                --over-provision)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --scale-up-backoff)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --scale-up-backoff-max)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --max-node-provision-time)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --startup-taint)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --kube-reserved-cpu)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --kube-reserved-memory)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --max-pods)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --expendable-pods-priority-cutoff)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --new-pod-scale-up-delay)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --provisioning-request-booking)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --expander)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --price-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --idle-threshold)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --type-idle-threshold)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --instance-init-time)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --type-idle-count)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --dead-threshold)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --launch-grace)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --max-concurrent-drains)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --min-pod-age)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --max-scale-in-fraction)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --scale-in-window)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --interruption-drain-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --rebalance-cordon-ttl)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --scale-down-utilization-threshold)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --drain-utilization-below)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --max-total-unready-percentage)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --ok-total-unready-count)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --lease-namespace)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --lease-name)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --lease-duration)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --slack-hook)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --slack-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --cluster-name)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --regions)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --kubeconfig)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --context)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --kube-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --aws-access-key)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --aws-secret-key)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --aws-profile)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --aws-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --aws-attempt-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --aws-max-attempts)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --output)
                    COMPREPLY=($(compgen -W "table wide json" -- "${cur}"))
                    return 0
                    ;;
                -o)
                    COMPREPLY=($(compgen -W "table wide json" -- "${cur}"))
                    return 0
                    ;;
                --log-format)
                    COMPREPLY=($(compgen -W "text json" -- "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ekas__subcmd__run)
            opts="-o -v -h -V --namespace --live-prices --over-provision --scale-up-backoff --scale-up-backoff-max --max-node-provision-time --startup-taint --kube-reserved-cpu --kube-reserved-memory --max-pods --expendable-pods-priority-cutoff --scale-up-only-unschedulable --new-pod-scale-up-delay --no-balance --no-gangs --provisioning-request-booking --expander --avoid-interrupted-groups --price-file --idle-threshold --type-idle-threshold --instance-init-time --type-idle-count --dead-threshold --launch-grace --max-concurrent-drains --min-pod-age --max-scale-in-fraction --scale-in-window --interruption-drain-timeout --rebalance-cordon-ttl --scale-down-utilization-threshold --no-consolidation --drain-utilization-below --drain-running-jobs --respect-scale-in-protection --max-total-unready-percentage --ok-total-unready-count --lease-namespace --lease-name --lease-duration --slack-hook --slack-timeout --sleep --batch-idle --batch-max --no-scale --no-maintenance --leader-elect --interruption-queue --interruption-accounts --lifecycle-hook-max-wait --interruption-retry-after --metrics-address --unhealthy-after --api-discovery-every --on-demand-price-refresh --spot-price-refresh --cluster-name --regions --kubeconfig --context --kube-timeout --aws-access-key --aws-secret-key --aws-profile --use-aws-iam-role --aws-timeout --aws-attempt-timeout --aws-max-attempts --dry-run --output --log-format --verbose --help --version"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --namespace)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --live-prices)
                    COMPREPLY=($(compgen -W "true false" -- "${cur}"))
                    return 0
                    ;;
                --over-provision)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --scale-up-backoff)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --scale-up-backoff-max)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --max-node-provision-time)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --startup-taint)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --kube-reserved-cpu)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --kube-reserved-memory)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --max-pods)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --expendable-pods-priority-cutoff)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --new-pod-scale-up-delay)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --provisioning-request-booking)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --expander)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --price-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --idle-threshold)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --type-idle-threshold)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --instance-init-time)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --type-idle-count)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --dead-threshold)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --launch-grace)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --max-concurrent-drains)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --min-pod-age)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --max-scale-in-fraction)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --scale-in-window)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --interruption-drain-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --rebalance-cordon-ttl)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --scale-down-utilization-threshold)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --drain-utilization-below)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --max-total-unready-percentage)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --ok-total-unready-count)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --lease-namespace)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --lease-name)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --lease-duration)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --slack-hook)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --slack-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --sleep)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --batch-idle)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --batch-max)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --leader-elect)
                    COMPREPLY=($(compgen -W "true false" -- "${cur}"))
                    return 0
                    ;;
                --interruption-queue)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --interruption-accounts)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --lifecycle-hook-max-wait)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --interruption-retry-after)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --metrics-address)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --unhealthy-after)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --api-discovery-every)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --on-demand-price-refresh)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --spot-price-refresh)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --cluster-name)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --regions)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --kubeconfig)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --context)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --kube-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --aws-access-key)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --aws-secret-key)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --aws-profile)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --aws-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --aws-attempt-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --aws-max-attempts)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --output)
                    COMPREPLY=($(compgen -W "table wide json" -- "${cur}"))
                    return 0
                    ;;
                -o)
                    COMPREPLY=($(compgen -W "table wide json" -- "${cur}"))
                    return 0
                    ;;
                --log-format)
                    COMPREPLY=($(compgen -W "text json" -- "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ekas__subcmd__scale__subcmd__up)
            opts="-o -v -h -V --namespace --live-prices --over-provision --scale-up-backoff --scale-up-backoff-max --max-node-provision-time --startup-taint --kube-reserved-cpu --kube-reserved-memory --max-pods --expendable-pods-priority-cutoff --scale-up-only-unschedulable --new-pod-scale-up-delay --no-balance --no-gangs --provisioning-request-booking --expander --avoid-interrupted-groups --price-file --idle-threshold --type-idle-threshold --instance-init-time --type-idle-count --dead-threshold --launch-grace --max-concurrent-drains --min-pod-age --max-scale-in-fraction --scale-in-window --interruption-drain-timeout --rebalance-cordon-ttl --scale-down-utilization-threshold --no-consolidation --drain-utilization-below --drain-running-jobs --respect-scale-in-protection --max-total-unready-percentage --ok-total-unready-count --lease-namespace --lease-name --lease-duration --slack-hook --slack-timeout --cluster-name --regions --kubeconfig --context --kube-timeout --aws-access-key --aws-secret-key --aws-profile --use-aws-iam-role --aws-timeout --aws-attempt-timeout --aws-max-attempts --dry-run --output --log-format --verbose --help --version"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --namespace)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --live-prices)
                    COMPREPLY=($(compgen -W "true false" -- "${cur}"))
                    return 0
                    ;;
                --over-provision)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --scale-up-backoff)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --scale-up-backoff-max)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --max-node-provision-time)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --startup-taint)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --kube-reserved-cpu)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --kube-reserved-memory)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --max-pods)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --expendable-pods-priority-cutoff)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --new-pod-scale-up-delay)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --provisioning-request-booking)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --expander)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --price-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --idle-threshold)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --type-idle-threshold)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --instance-init-time)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --type-idle-count)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --dead-threshold)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --launch-grace)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --max-concurrent-drains)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --min-pod-age)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --max-scale-in-fraction)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --scale-in-window)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --interruption-drain-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --rebalance-cordon-ttl)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --scale-down-utilization-threshold)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --drain-utilization-below)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --max-total-unready-percentage)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --ok-total-unready-count)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --lease-namespace)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --lease-name)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --lease-duration)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --slack-hook)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --slack-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --cluster-name)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --regions)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --kubeconfig)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --context)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --kube-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --aws-access-key)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --aws-secret-key)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --aws-profile)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --aws-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --aws-attempt-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --aws-max-attempts)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --output)
                    COMPREPLY=($(compgen -W "table wide json" -- "${cur}"))
                    return 0
                    ;;
                -o)
                    COMPREPLY=($(compgen -W "table wide json" -- "${cur}"))
                    return 0
                    ;;
                --log-format)
                    COMPREPLY=($(compgen -W "text json" -- "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ekas__subcmd__simulate)
            opts="-o -v -h -V --trace --cluster --set --compare --policy --chart --seed --namespace --live-prices --over-provision --scale-up-backoff --scale-up-backoff-max --max-node-provision-time --startup-taint --kube-reserved-cpu --kube-reserved-memory --max-pods --expendable-pods-priority-cutoff --scale-up-only-unschedulable --new-pod-scale-up-delay --no-balance --no-gangs --provisioning-request-booking --expander --avoid-interrupted-groups --price-file --idle-threshold --type-idle-threshold --instance-init-time --type-idle-count --dead-threshold --launch-grace --max-concurrent-drains --min-pod-age --max-scale-in-fraction --scale-in-window --interruption-drain-timeout --rebalance-cordon-ttl --scale-down-utilization-threshold --no-consolidation --drain-utilization-below --drain-running-jobs --respect-scale-in-protection --max-total-unready-percentage --ok-total-unready-count --sleep --batch-idle --batch-max --scheduler-scoring --cluster-name --regions --kubeconfig --context --kube-timeout --aws-access-key --aws-secret-key --aws-profile --use-aws-iam-role --aws-timeout --aws-attempt-timeout --aws-max-attempts --dry-run --output --log-format --verbose --help --version"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --trace)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --cluster)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --set)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --compare)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --policy)
                    COMPREPLY=($(compgen -W "ekas original" -- "${cur}"))
                    return 0
                    ;;
                --chart)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --seed)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --namespace)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --live-prices)
                    COMPREPLY=($(compgen -W "true false" -- "${cur}"))
                    return 0
                    ;;
                --over-provision)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --scale-up-backoff)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --scale-up-backoff-max)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --max-node-provision-time)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --startup-taint)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --kube-reserved-cpu)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --kube-reserved-memory)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --max-pods)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --expendable-pods-priority-cutoff)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --new-pod-scale-up-delay)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --provisioning-request-booking)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --expander)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --price-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --idle-threshold)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --type-idle-threshold)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --instance-init-time)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --type-idle-count)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --dead-threshold)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --launch-grace)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --max-concurrent-drains)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --min-pod-age)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --max-scale-in-fraction)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --scale-in-window)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --interruption-drain-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --rebalance-cordon-ttl)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --scale-down-utilization-threshold)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --drain-utilization-below)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --max-total-unready-percentage)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --ok-total-unready-count)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --sleep)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --batch-idle)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --batch-max)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --scheduler-scoring)
                    COMPREPLY=($(compgen -W "least-allocated most-allocated" -- "${cur}"))
                    return 0
                    ;;
                --cluster-name)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --regions)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --kubeconfig)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --context)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --kube-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --aws-access-key)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --aws-secret-key)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --aws-profile)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --aws-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --aws-attempt-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --aws-max-attempts)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --output)
                    COMPREPLY=($(compgen -W "table wide json" -- "${cur}"))
                    return 0
                    ;;
                -o)
                    COMPREPLY=($(compgen -W "table wide json" -- "${cur}"))
                    return 0
                    ;;
                --log-format)
                    COMPREPLY=($(compgen -W "text json" -- "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
        ekas__subcmd__snapshot)
            opts="-o -v -h -V --out --pods --nodes --daemonsets --pdbs --namespaces --pvcs --pvs --storage-classes --pod-groups --provisioning-requests --pod-templates --price-file --namespace --live-prices --cluster-name --regions --kubeconfig --context --kube-timeout --aws-access-key --aws-secret-key --aws-profile --use-aws-iam-role --aws-timeout --aws-attempt-timeout --aws-max-attempts --dry-run --output --log-format --verbose --help --version"
            if [[ ${cur} == -* || ${COMP_CWORD} -eq 2 ]] ; then
                COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
                return 0
            fi
            case "${prev}" in
                --out)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --pods)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --nodes)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --daemonsets)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --pdbs)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --namespaces)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --pvcs)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --pvs)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --storage-classes)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --pod-groups)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --provisioning-requests)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --pod-templates)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --price-file)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --namespace)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --live-prices)
                    COMPREPLY=($(compgen -W "true false" -- "${cur}"))
                    return 0
                    ;;
                --cluster-name)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --regions)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --kubeconfig)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --context)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --kube-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --aws-access-key)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --aws-secret-key)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --aws-profile)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --aws-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --aws-attempt-timeout)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --aws-max-attempts)
                    COMPREPLY=($(compgen -f "${cur}"))
                    return 0
                    ;;
                --output)
                    COMPREPLY=($(compgen -W "table wide json" -- "${cur}"))
                    return 0
                    ;;
                -o)
                    COMPREPLY=($(compgen -W "table wide json" -- "${cur}"))
                    return 0
                    ;;
                --log-format)
                    COMPREPLY=($(compgen -W "text json" -- "${cur}"))
                    return 0
                    ;;
                *)
                    COMPREPLY=()
                    ;;
            esac
            COMPREPLY=( $(compgen -W "${opts}" -- "${cur}") )
            return 0
            ;;
    esac
}

if [[ "${BASH_VERSINFO[0]}" -eq 4 && "${BASH_VERSINFO[1]}" -ge 4 || "${BASH_VERSINFO[0]}" -gt 4 ]]; then
    complete -F _ekas -o nosort -o bashdefault -o default ekas
else
    complete -F _ekas -o bashdefault -o default ekas
fi
