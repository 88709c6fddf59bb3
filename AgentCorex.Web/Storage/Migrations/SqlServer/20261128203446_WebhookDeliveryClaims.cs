using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace AgentCorex.Web.Storage.Migrations.SqlServer
{
    /// <inheritdoc />
    public partial class WebhookDeliveryClaims : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<DateTime>(
                name: "disabled_at",
                table: "webhooks",
                type: "datetime2",
                nullable: true);

            migrationBuilder.AddColumn<DateTime>(
                name: "in_flight_until",
                table: "webhook_deliveries",
                type: "datetime2",
                nullable: true);

            migrationBuilder.CreateIndex(
                name: "ix_webhook_deliveries_created",
                table: "webhook_deliveries",
                column: "created_at");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_webhook_deliveries_created",
                table: "webhook_deliveries");

            migrationBuilder.DropColumn(
                name: "disabled_at",
                table: "webhooks");

            migrationBuilder.DropColumn(
                name: "in_flight_until",
                table: "webhook_deliveries");
        }
    }
}
