<?php

/**
 * markasjunk_imapexec: a learning driver for Roundcube's markasjunk plugin
 * that runs imapexec services for the sender of each marked message
 * ("Junk": imapexec_junk_commands, "Not junk": imapexec_notjunk_commands
 * of the imapexec plugin's config).  Needs the imapexec plugin enabled.
 *
 * Install: symlink (or copy) this file to
 * plugins/markasjunk/drivers/imapexec.php and set
 * $config['markasjunk_learning_driver'] = 'imapexec'.
 *
 * A refusal is shown to the user; the messages are moved all the same
 * (is_error stays unset).
 *
 * @license GNU GPLv3+ (as Roundcube's plugins); part of imapexec
 */
class markasjunk_imapexec
{
    /**
     * spam($uids, $src_mbox, $dst_mbox): "Junk" on the messages $uids.
     *
     * @param array  $uids     Message UIDs
     * @param string $src_mbox Their folder
     * @param string $dst_mbox Where markasjunk moves them
     */
    public function spam($uids, $src_mbox, $dst_mbox)
    {
        $this->mark($uids, $src_mbox, 'junk');
    }

    /**
     * ham($uids, $src_mbox, $dst_mbox): "Not junk" on the messages $uids.
     *
     * @param array  $uids     Message UIDs
     * @param string $src_mbox Their folder
     * @param string $dst_mbox Where markasjunk moves them
     */
    public function ham($uids, $src_mbox, $dst_mbox)
    {
        $this->mark($uids, $src_mbox, 'notjunk');
    }

    /**
     * mark($uids, $mbox, $which): hand the work to the imapexec plugin.
     *
     * @param array  $uids  Message UIDs
     * @param string $mbox  Their folder
     * @param string $which 'junk' or 'notjunk'
     */
    private function mark($uids, $mbox, $which)
    {
        $plugin = rcmail::get_instance()->plugins->get_plugin('imapexec');

        if (!$plugin) {
            rcube::raise_error([
                    'code' => 600, 'file' => __FILE__, 'line' => __LINE__,
                    'message' => 'markasjunk_imapexec: the imapexec plugin is not enabled',
                ], true, false);

            return;
        }

        $plugin->mark_senders($uids, $mbox, $which);
    }
}
