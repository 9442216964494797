<?php

/**
 * imapexec_sso: a test plugin (tests/68-roundcube.bats) standing for a
 * single sign-on plugin: on Roundcube's storage_connect hook it gives the
 * IMAP password of the user $config['imapexec_sso_user'] from the file
 * $config['imapexec_sso_passfile'], whatever that user typed.
 */
class imapexec_sso extends rcube_plugin
{
    /**
     * init(): register the hook.
     */
    public function init()
    {
        $this->add_hook('storage_connect', [$this, 'storage_connect']);
    }

    /**
     * storage_connect($args): the password for the configured user.
     *
     * @param array $args The hook's arguments ('user', 'pass', ...)
     *
     * @return array
     */
    public function storage_connect($args)
    {
        $config = rcmail::get_instance()->config;
        if ($args['user'] === $config->get('imapexec_sso_user')) {
            $args['pass'] = rtrim(file_get_contents($config->get('imapexec_sso_passfile')), "\n");
        }

        return $args;
    }
}
