"""Events as a resource, the event of each delivery, revoked tokens, sealed idempotent answers
and the app's pinned API version (issue 20)."""

import django.core.serializers.json
import django.db.models.deletion
import tenants.crypto
import tenants.db
import uuid
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('partners', '0006_dispute_events'),
        ('tenants', '0006_reconnect_reason'),
    ]

    operations = [
        migrations.CreateModel(
            name='Event',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('uid', models.UUIDField(default=uuid.uuid4, editable=False, verbose_name='id')),
                ('type', models.CharField(choices=[('order.created', 'Order created'), ('order.processed', 'Order processed (paid)'), ('order.canceled', 'Order canceled'), ('order.expired', 'Order expired'), ('order.partially_refunded', 'Order partially refunded'), ('order.refunded', 'Order refunded'), ('refund.created', 'Refund created'), ('refund.succeeded', 'Refund succeeded'), ('refund.failed', 'Refund failed'), ('dispute.opened', 'Dispute opened (chargeback)'), ('dispute.updated', 'Dispute updated'), ('store.sync_failed', 'Store sync with Mercado Pago failed'), ('pos.sync_failed', 'POS sync with Mercado Pago failed'), ('seller.connection_changed', "Seller's Mercado Pago connection changed"), ('webhook.test', 'Test event')], max_length=40, verbose_name='type')),
                ('api_version', models.CharField(help_text='The API version of data.', max_length=10, verbose_name='API version')),
                ('data', models.JSONField(encoder=django.core.serializers.json.DjangoJSONEncoder, verbose_name='data')),
                ('created_at', models.DateTimeField(verbose_name='created at')),
            ],
            options={
                'verbose_name': 'event',
                'verbose_name_plural': 'events',
                'ordering': ['-created_at', '-pk'],
            },
        ),
        migrations.RemoveConstraint(
            model_name='webhookdelivery',
            name='delivery_event_id_unique_per_tenant',
        ),
        migrations.RenameField(
            model_name='webhookdelivery',
            old_name='event_id',
            new_name='event_uid',
        ),
        migrations.AddField(
            model_name='grantedtoken',
            name='revoked_at',
            field=models.DateTimeField(blank=True, help_text='When the seller revoked the consent: the token answers token_revoked.', null=True, verbose_name='revoked at'),
        ),
        migrations.AddField(
            model_name='idempotentrequest',
            name='sealed_response_body',
            field=tenants.crypto.EncryptedTextField(blank=True, help_text='An answer that holds a secret, encrypted (response body left empty).', verbose_name='sealed response body'),
        ),
        migrations.AddField(
            model_name='partnergrant',
            name='api_version',
            field=models.CharField(blank=True, help_text='The API version the app is pinned to (YYYY-MM-DD); docs/api.md.', max_length=10, verbose_name='API version'),
        ),
        migrations.AlterField(
            model_name='webhookdelivery',
            name='event_uid',
            field=models.UUIDField(default=uuid.uuid4, editable=False, help_text="The event's id, sent in the payload and as X-Platform-Delivery.", verbose_name='event id'),
        ),
        migrations.AlterField(
            model_name='webhookdelivery',
            name='event_type',
            field=models.CharField(choices=[('order.created', 'Order created'), ('order.processed', 'Order processed (paid)'), ('order.canceled', 'Order canceled'), ('order.expired', 'Order expired'), ('order.partially_refunded', 'Order partially refunded'), ('order.refunded', 'Order refunded'), ('refund.created', 'Refund created'), ('refund.succeeded', 'Refund succeeded'), ('refund.failed', 'Refund failed'), ('dispute.opened', 'Dispute opened (chargeback)'), ('dispute.updated', 'Dispute updated'), ('store.sync_failed', 'Store sync with Mercado Pago failed'), ('pos.sync_failed', 'POS sync with Mercado Pago failed'), ('seller.connection_changed', "Seller's Mercado Pago connection changed"), ('webhook.test', 'Test event')], max_length=40, verbose_name='event type'),
        ),
        migrations.AlterField(
            model_name='webhookdelivery',
            name='status',
            field=models.CharField(choices=[('pending', 'Pending'), ('delivered', 'Delivered'), ('failed', 'Failed (no attempts left)'), ('canceled', 'Canceled (the app lost access to the seller)')], default='pending', max_length=10, verbose_name='status'),
        ),
        migrations.AddField(
            model_name='event',
            name='tenant',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='tenants.tenant', verbose_name='tenant'),
        ),
        migrations.AddField(
            model_name='webhookdelivery',
            name='event',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='deliveries', to='partners.event', verbose_name='event'),
        ),
        migrations.AddConstraint(
            model_name='webhookdelivery',
            constraint=models.UniqueConstraint(fields=('endpoint', 'event_uid'), name='delivery_event_unique_per_endpoint'),
        ),
        migrations.AddIndex(
            model_name='event',
            index=models.Index(fields=['tenant', '-created_at', '-id'], name='event_tenant_created'),
        ),
        migrations.AddIndex(
            model_name='event',
            index=models.Index(fields=['tenant', 'type', '-created_at', '-id'], name='event_tenant_type_created'),
        ),
        migrations.AddConstraint(
            model_name='event',
            constraint=models.UniqueConstraint(fields=('tenant', 'uid'), name='event_uid_unique_per_tenant'),
        ),
        tenants.db.AddSameTenantConstraint(model_name="webhookdelivery", name="event"),
    ]
