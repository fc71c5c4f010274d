
#compdef wfm

_wfm_completion() {
  eval $(env _TYPER_COMPLETE_ARGS="${words[1,$CURRENT]}" _WFM_COMPLETE=complete_zsh wfm)
}

compdef _wfm_completion wfm

